"""Leftovers of killed builds in the output directory: removed by the next build when no live
build holds them, and only pack's own temporary names."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packager import workdirs
from tests.helpers.bundles import APPS, PACK, pack_env, run_pack

HOLD = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); " \
    "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(600)"  # fmt: skip


def test_only_unheld_leftovers_of_pack_s_own_kinds_are_removed(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    stale = dist / ".pack-build-abc123"
    (stale / "app-1.0" / "python").mkdir(parents=True)
    (stale / "app-1.0" / "python" / "x").write_text("x")
    stale_partial = dist / ".app-1.0-x86_64-unknown-linux-gnu.tar.zst.k2j4h5.partial"
    stale_partial.write_bytes(b"half")
    live = dist / ".pack-build-live99"
    live.mkdir()
    keep = [
        dist / "app-1.0-x86_64-unknown-linux-gnu.tar.zst",
        dist / ".notes.partial",  # not an archive's name
        dist / ".pack-build-file",  # not a folder
        dist / "pack-build-visible",
    ]
    for path in keep:
        path.write_text("mine")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(live)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        removed = workdirs.remove_stale(dist)
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert removed == [stale_partial, stale]
    assert sorted(p.name for p in dist.iterdir()) == sorted([live.name] + [p.name for p in keep])
    assert workdirs.remove_stale(dist) == [live]  # its builder died: the kernel dropped the lock


@pytest.mark.parametrize(
    ("point", "pattern"),
    [("assembling", ".pack-build-*/**/venv"), ("writing the archive", ".*.tar.zst.*.partial")],
)
def test_a_build_killed_half_way_is_cleaned_up_by_the_next(
    tmp_path: Path, python_archive: Path, session_cache: Path, point: str, pattern: str
) -> None:
    project = tmp_path / "proj"
    shutil.copytree(APPS / "thirdparty", project)
    dist = tmp_path / "dist"
    # Level 19 makes the archive step last seconds, long enough to be caught in it.
    argv = ["build", str(project), "--out", str(dist), "--python-archive", str(python_archive),
            "--compression-level", "19"]  # fmt: skip
    proc = subprocess.Popen(
        [*PACK, *argv],
        env=pack_env(session_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list(dist.glob(pattern)):
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the build ended before {point}"
    left = sorted(p.name for p in dist.iterdir())
    assert left and all(name.startswith((".pack-build-", ".flakes")) for name in left), left

    done = run_pack(["-v", *argv[:-2], "--json"], session_cache)  # default level: faster
    assert done.returncode == 0, done.stderr
    archive = Path(json.loads(done.stdout)["artifacts"][0]["path"])
    left_now = sorted(p.name for p in dist.iterdir())
    assert archive.name in left_now
    assert all(name.startswith(archive.name) for name in left_now), left_now  # .sha256 etc.
    for name in left:
        assert f"removed {dist}/{name}, left by an interrupted build" in done.stderr
