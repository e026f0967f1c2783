"""Fixtures of the interpreter tests: a context with its own cache, and the fault-injecting
HTTP server serving the session's python-build-standalone-format release."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.context import Context, RecordingReporter
from tests.conftest import FaultServer, PbsRelease


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(cache_dir=tmp_path / "cache", environ={}, reporter=RecordingReporter())


@pytest.fixture
def server(fault_server: FaultServer, pbs_release: PbsRelease) -> FaultServer:
    fault_server.root = pbs_release.base
    return fault_server
