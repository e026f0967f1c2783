"""A small tmpfs mounted for one test (tests run as root here): a real full disk, in memory."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "8m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        # Tests run as root here and in CI (`.ci/run` runs as root), so this does not skip
        # there; a developer without root cannot mount the small tmpfs that stages a full disk.
        pytest.skip(f"mounting a tmpfs needs root: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
