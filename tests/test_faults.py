"""Faults while building: a full disk under the output directory or the cache, a read-only
cache. Each is one line on stderr with exit status 6 (disk), no traceback, nothing left in the
output directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.bundles import APPS, PACK, pack_env, run_pack
from tests.helpers.disk import small_tmpfs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(APPS / "thirdparty", dest)
    return dest


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_full_output_disk_is_exit_6_and_leaves_nothing(
    project: Path, tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    with small_tmpfs(tmp_path / "dist", "2m") as out:
        proc = run_pack(
            ["build", str(project), "--out", str(out), "--python-archive", str(python_archive)],
            session_cache,
        )
        leftovers = sorted(p.name for p in out.iterdir())
    assert proc.returncode == 6, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith(f"error: writing {out}/")
    assert line.endswith("failed: No space left on device; free some space there and run again")
    assert leftovers == []


def test_a_full_cache_disk_is_exit_6_not_a_corrupt_archive(
    project: Path, tmp_path: Path, python_archive: Path
) -> None:
    with small_tmpfs(tmp_path / "cache", "24m") as cache:
        proc = run_pack(
            ["build", str(project), "--out", str(tmp_path / "dist"), "--python-archive",
             str(python_archive)],
            cache,
        )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    line = _one_line(proc.stderr)
    assert "corrupt" not in line and "network" not in line
    assert not (tmp_path / "dist").exists() or list((tmp_path / "dist").iterdir()) == []


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_read_only_cache_is_exit_6(project: Path, tmp_path: Path, python_archive: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    proc = subprocess.run(
        ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(cache), str(cache), *PACK,
         "build", str(project), "--out", str(tmp_path / "dist"), "--python-archive",
         str(python_archive)],
        env=pack_env(cache),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    line = _one_line(proc.stderr)
    assert line.endswith(
        "failed: Read-only file system; give a writable place (--out, or the cache with "
        "--cache-dir or PACK_CACHE_DIR)"
    )
    assert line.startswith(f"error: writing {cache}")
