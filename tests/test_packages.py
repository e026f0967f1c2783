"""`self packages` (pack_runtime/packages.py): the distributions of the bundle's venv, and only
those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.stub import (
    stub,
)
from tests.helpers.synthetic import runnable_bundle


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return runnable_bundle(tmp_path)


def test_packages_lists_the_venv_only(bundle: Path) -> None:
    r = stub(bundle, "packages")
    assert (r.code, r.out) == (0, "demo  1.0\nsix   1.16.0\n")
    r = stub(bundle, "packages", "--json")
    assert json.loads(r.out) == [
        {"name": "demo", "version": "1.0"},
        {"name": "six", "version": "1.16.0"},
    ]
