"""A `.dist-info` written by hand into a site-packages folder (the `site` fixture: an empty
one in a venv layout), for tests of what reads one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    path.mkdir(parents=True)
    return path


def write_dist(
    site: Path, name: str, version: str, *requires: str, files: tuple[str, ...] = ()
) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n\n")
    record = [*files, f"{name}-{version}.dist-info/METADATA,,"]
    (info / "RECORD").write_text("\n".join(r if "," in r else f"{r},," for r in record) + "\n")
