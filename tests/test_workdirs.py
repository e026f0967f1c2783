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


SLOW_BACKEND = """
import os, pathlib, time

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pathlib.Path(__file__).parent.with_name("backend.pid").write_text(str(os.getpid()))
    time.sleep(300)
    raise SystemExit("not reached")
"""


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie left for an init that does not reap does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigterm_to_the_build_stops_what_runs_beside_it_and_leaves_nothing(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    # The app's wheel is built on a thread, its subprocesses in their own process group: a
    # SIGTERM to pack's group (a CI timeout) must still end the build backend, and the build
    # must clean up as after Ctrl-C.
    project = tmp_path / "proj"
    shutil.copytree(APPS / "compiled", project, ignore=shutil.ignore_patterns("dist"))
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace(
        'requires = ["hatchling"]\nbuild-backend = "hatchling.build"',
        'requires = []\nbuild-backend = "slow_backend"\nbackend-path = ["_backend"]',
    )
    assert "slow_backend" in text
    pyproject.write_text(text)
    (project / "_backend").mkdir()
    (project / "_backend" / "slow_backend.py").write_text(SLOW_BACKEND)
    dist = tmp_path / "dist"
    argv = ["build", str(project), "--out", str(dist), "--python-archive", str(python_archive)]
    proc = subprocess.Popen(
        [*PACK, *argv],
        env=pack_env(session_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pidfile = project / "backend.pid"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None and not pidfile.exists():
            time.sleep(0.02)
        assert proc.poll() is None, "the build ended before its backend ran"
        time.sleep(0.2)  # the pid is written; let the backend settle in its sleep
        os.killpg(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == "error: terminated (SIGTERM)"
    backend = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(backend) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(backend), "the build backend outlived the build"
    assert not dist.exists() or list(dist.iterdir()) == []
