"""A `.dist-info` written by hand into a site-packages folder, for tests of what reads one."""

from __future__ import annotations

from pathlib import Path


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
