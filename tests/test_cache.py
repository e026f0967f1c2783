"""The cache under real processes: one provisioning per key however many builds race for it,
nothing half-made trusted after a SIGKILL, warm rebuilds that provision nothing, and
`pack cache dir|list|prune|clean`."""

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

from packager import cache as cache_mod
from packager._fs import sha256_file
from packager.errors import ConfigError
from tests.helpers.bundles import APPS, REPO, Built, pack_env, run_pack

# A child process that provisions `entry`; its build logs its pid, and in "hang" mode
# announces itself and waits to be killed. Both children start together on a "go" file.
_CHILD = r"""
import os, sys, time
from pathlib import Path
from packager.cache import provision
entry, log, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(log.parent / f"ready-{os.getpid()}").write_text("")
while not (log.parent / "go").exists():
    time.sleep(0.005)

def build(tmp: Path) -> None:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    (tmp / "payload").write_text("half")
    if mode == "hang":
        (log.parent / "started").write_text("")
        time.sleep(600)
    time.sleep(0.5)
    (tmp / "payload").write_text("whole")

print(provision(entry, build))
"""


def _child(entry: Path, log: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(entry), str(log), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def test_concurrent_provisioning_builds_once(tmp_path: Path) -> None:
    entry = tmp_path / "cache" / "envs" / "key"
    log = tmp_path / "log"
    children = [_child(entry, log, "build") for _ in range(2)]
    _wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 2, "both children")
    (tmp_path / "go").write_text("")
    outputs = sorted(c.communicate(timeout=60)[0].strip() for c in children)
    assert [c.returncode for c in children] == [0, 0]
    assert outputs == ["False", "True"]
    assert len(log.read_text().split()) == 1
    assert (entry / "payload").read_text() == "whole"
    assert (entry / cache_mod.MARKER).is_file()
    assert sorted(p.name for p in entry.parent.iterdir()) == ["key", "key.lock"]


def test_killed_provisioning_is_never_trusted_and_is_replaced(tmp_path: Path) -> None:
    entry = tmp_path / "cache" / "envs" / "key"
    log = tmp_path / "log"
    child = _child(entry, log, "hang")
    _wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 1, "the child")
    (tmp_path / "go").write_text("")
    _wait_for((tmp_path / "started").exists, "the build to start")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    leftovers = list(entry.parent.glob(".key.*.partial"))
    assert len(leftovers) == 1 and (leftovers[0] / "payload").read_text() == "half"
    assert not entry.exists()

    def build(tmp: Path) -> None:
        (tmp / "payload").write_text("whole")

    assert cache_mod.provision(entry, build) is True
    assert (entry / "payload").read_text() == "whole"
    assert sorted(p.name for p in entry.parent.iterdir()) == ["key", "key.lock"]
    assert cache_mod.provision(entry, build) is False


def test_an_entry_without_its_marker_is_rebuilt(tmp_path: Path) -> None:
    entry = tmp_path / "envs" / "key"
    entry.mkdir(parents=True)
    (entry / "payload").write_text("copied in by hand, no marker")

    def build(tmp: Path) -> None:
        (tmp / "payload").write_text("ok")

    assert cache_mod.provision(entry, build) is True
    assert (entry / "payload").read_text() == "ok"


def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    entry = tmp_path / "envs" / "key"

    def build(tmp: Path) -> None:
        (tmp / "payload").write_text("x")
        raise RuntimeError("the install failed")

    with pytest.raises(RuntimeError):
        cache_mod.provision(entry, build)
    assert sorted(p.name for p in entry.parent.iterdir()) == ["key.lock"]


DAY = 86400.0


def _entry(root: Path, kind: str, key: str, *, age_days: float, marker: bool = True) -> Path:
    entry = root / kind / key
    entry.mkdir(parents=True)
    (entry / "payload.bin").write_bytes(b"x" * 1000)
    when = time.time() - age_days * DAY
    if marker:
        (entry / cache_mod.MARKER).write_text("{}\n")
        os.utime(entry / cache_mod.MARKER, (when, when))
    os.utime(entry, (when, when))
    return entry


@pytest.fixture
def filled_cache(tmp_path: Path) -> Path:
    root = tmp_path / "cache"
    _entry(root, "envs", "old", age_days=40)
    _entry(root, "envs", "new", age_days=1)
    _entry(root, "envs", "busy", age_days=40)
    _entry(root, "envs", "unmarked", age_days=0, marker=False)
    dead = root / "envs" / ".dead.4242.partial"
    dead.mkdir()
    (dead / "half").write_bytes(b"y" * 10)
    _entry(root, "wheels", "a" * 64, age_days=40, marker=False)
    _entry(root, "wheels", "b" * 64, age_days=2, marker=False)
    _entry(root, "pythons", "c" * 64, age_days=10)
    return root


def test_list_entries(filled_cache: Path) -> None:
    found = {(e.kind, e.key): e for e in cache_mod.list_entries(filled_cache)}
    assert set(found) == {
        ("envs", "old"),
        ("envs", "new"),
        ("envs", "busy"),
        ("envs", "unmarked"),
        ("envs", "dead"),
        ("wheels", "a" * 64),
        ("wheels", "b" * 64),
        ("pythons", "c" * 64),
    }
    assert found[("envs", "old")].size == 1000 + 3  # payload and marker
    assert found[("envs", "dead")].size == 10 and not found[("envs", "dead")].complete
    assert not found[("envs", "unmarked")].complete
    assert found[("wheels", "a" * 64)].complete  # a wheel entry is its file
    assert found[("envs", "old")].last_used < time.time() - 39 * DAY


def test_prune_by_age_skips_entries_in_use(filled_cache: Path) -> None:
    with cache_mod.entry_lock(filled_cache / "envs" / "busy"):
        removed = cache_mod.prune(filled_cache, older_than=30 * DAY)
    assert sorted((e.kind, e.key) for e in removed) == [
        ("envs", "dead"),
        ("envs", "old"),
        ("envs", "unmarked"),
        ("wheels", "a" * 64),
    ]
    left = sorted((e.kind, e.key) for e in cache_mod.list_entries(filled_cache))
    assert left == [("envs", "busy"), ("envs", "new"), ("pythons", "c" * 64), ("wheels", "b" * 64)]
    assert {e.key for e in cache_mod.prune(filled_cache, older_than=5 * DAY)} == {"busy", "c" * 64}


def test_cache_cli(filled_cache: Path) -> None:
    proc = run_pack(["cache", "dir"], filled_cache)
    assert (proc.returncode, proc.stdout) == (0, f"{filled_cache}\n")

    proc = run_pack(["cache", "list", "--json"], filled_cache)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert listing["root"] == str(filled_cache)
    assert len(listing["entries"]) == 8
    table = run_pack(["cache", "list"], filled_cache).stdout.splitlines()
    assert table[0].split() == ["KIND", "KEY", "SIZE", "LAST", "USED"]
    assert table[-1].startswith("8 entries, ")
    assert any(line.startswith("envs") and "(incomplete)" in line for line in table)

    proc = run_pack(["cache", "prune", "--older-than", "30d"], filled_cache)
    assert (proc.returncode, proc.stdout) == (0, "pruned 5 entries, 3.9 KiB\n")

    proc = run_pack(["cache", "prune", "--older-than", "a month"], filled_cache)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --older-than 'a month' is not a duration; write a number and a unit: 30d, "
        "12h, 90m, 2w or 45s"
    )

    proc = run_pack(["cache", "clean", "--json"], filled_cache)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["removed"]) == 3
    assert cache_mod.list_entries(filled_cache) == []


def test_prune_and_clean_remove_lock_files_nobody_holds(filled_cache: Path) -> None:
    envs = filled_cache / "envs"
    for key in ("old", "new", "busy", "gone-long-ago"):  # locks left by builds, one orphaned
        with cache_mod.entry_lock(envs / key):
            pass
    with cache_mod.entry_lock(envs / "busy"):
        cache_mod.prune(filled_cache, older_than=30 * DAY)
        assert sorted(p.name for p in envs.glob("*.lock")) == ["busy.lock", "new.lock"]
        cache_mod.clean(filled_cache)
        assert sorted(p.name for p in envs.glob("*.lock")) == ["busy.lock"]
    cache_mod.clean(filled_cache)
    assert list(filled_cache.rglob("*.lock")) == []


def test_a_lock_removed_while_waited_on_is_taken_again_on_the_new_file(tmp_path: Path) -> None:
    entry = tmp_path / "envs" / "key"
    with cache_mod.entry_lock(entry):
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAIT_FOR_LOCK, str(entry)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        time.sleep(0.5)  # the waiter is blocked on the lock file
        entry.with_name("key.lock").unlink()  # what clean does while holding it
    assert waiter.stdin is not None and waiter.stdout is not None
    try:
        assert waiter.stdout.readline() == "locked\n"
        # The waiter must hold the lock file that is at the path now, not the removed one:
        # otherwise two processes would both think they own the entry.
        with cache_mod.try_entry_lock(entry) as held:
            assert not held
    finally:
        waiter.stdin.close()
        waiter.wait()
        waiter.stdout.close()
    with cache_mod.try_entry_lock(entry) as held:
        assert held


WAIT_FOR_LOCK = """
import sys
from pathlib import Path
from packager.cache import entry_lock
with entry_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_parse_age() -> None:
    assert cache_mod.parse_age("30d") == 30 * DAY
    assert cache_mod.parse_age("12h") == 12 * 3600
    assert cache_mod.parse_age("2w") == 14 * DAY
    with pytest.raises(ConfigError):
        cache_mod.parse_age("30")


# Whole builds ------------------------------------------------------------------------------


def _markers(cache: Path) -> dict[str, tuple[int, int]]:
    """Layer entries and their markers' identity (inode, creation time in the marker)."""
    out: dict[str, tuple[int, int]] = {}
    for kind in (cache_mod.PYTHONS, cache_mod.ENVS):
        for marker in sorted((cache / kind).glob(f"*/{cache_mod.MARKER}")):
            created = json.loads(marker.read_text())["created"]
            out[f"{kind}/{marker.parent.name}"] = (marker.stat().st_ino, created)
    return out


def _copy_project(app: str, dest: Path) -> Path:
    shutil.copytree(APPS / app, dest, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return dest


def test_warm_rebuild_provisions_nothing(
    thirdparty_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    cache = thirdparty_bundle.cache_dir
    before = _markers(cache)
    project = _copy_project("thirdparty", tmp_path / "thirdparty")
    args = ["build", str(project), "--python-archive", str(python_archive), "--json"]
    proc = run_pack([*args, "--out", str(tmp_path / "dist")], cache)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provisioned"] == {"runtime": False, "environment": False}
    assert _markers(cache) == before  # the very same entries, not made again
    assert result["artifacts"][0]["sha256"] == thirdparty_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]


def _seed_runtime(session_cache: Path, python_archive: Path, cache: Path) -> None:
    """A fresh cache that already holds the session's runtime layer (hard links), so a test
    provisions only the dependency layer."""
    key = sha256_file(python_archive)
    shutil.copytree(
        session_cache / cache_mod.PYTHONS / key,
        cache / cache_mod.PYTHONS / key,
        symlinks=True,
        copy_function=os.link,
    )


def _start_build(
    project: Path, python_archive: Path, cache: Path, out: Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "packager.cli",
            "build",
            str(project),
            "--python-archive",
            str(python_archive),
            "--out",
            str(out),
            "--json",
        ],
        env=pack_env(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a kill reaches uv and compileall too
    )


def test_two_builds_at_once_provision_once(
    thirdparty_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _seed_runtime(thirdparty_bundle.cache_dir, python_archive, cache)
    project = _copy_project("thirdparty", tmp_path / "thirdparty")
    builds = [_start_build(project, python_archive, cache, tmp_path / f"out{i}") for i in (1, 2)]
    results = []
    for b in builds:
        stdout, stderr = b.communicate(timeout=300)
        assert b.returncode == 0, stderr
        results.append(json.loads(stdout))
    assert sorted(r["provisioned"]["environment"] for r in results) == [False, True]
    assert [r["provisioned"]["runtime"] for r in results] == [False, False]
    assert len(list((cache / cache_mod.ENVS).glob(f"*/{cache_mod.MARKER}"))) == 1
    assert not list(cache.rglob("*.partial"))
    assert results[0]["artifacts"][0]["sha256"] == results[1]["artifacts"][0]["sha256"]


def test_killed_build_then_a_good_build(
    thirdparty_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _seed_runtime(thirdparty_bundle.cache_dir, python_archive, cache)
    project = _copy_project("thirdparty", tmp_path / "thirdparty")
    victim = _start_build(project, python_archive, cache, tmp_path / "out1")
    envs = cache / cache_mod.ENVS
    # Killed while the dependency layer is being installed into its partial directory.
    _wait_for(
        lambda: any(envs.glob(".*.partial/venv/pyvenv.cfg")) or victim.poll() is not None,
        "the environment to be provisioned",
    )
    os.killpg(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert list(envs.glob(".*.partial")), "the kill left no partial entry to recover from"
    assert not list(envs.glob(f"*/{cache_mod.MARKER}"))

    good = _start_build(project, python_archive, cache, tmp_path / "out2")
    stdout, stderr = good.communicate(timeout=300)
    assert good.returncode == 0, stderr
    result = json.loads(stdout)
    assert result["provisioned"] == {"runtime": False, "environment": True}
    assert result["artifacts"][0]["sha256"] == thirdparty_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]
    assert not list(cache.rglob("*.partial"))
