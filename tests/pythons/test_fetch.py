"""Fetching an interpreter archive (packager/pythons/fetch.py) from a real HTTP server on
127.0.0.1 serving a python-build-standalone-format release: what a release lacks, checksum
failures that leave nothing in the cache, retries and resume, offline use of the cache, and
concurrent or killed fetches."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from packager import cache as cache_mod
from packager.context import Context
from packager.download import NotFoundError
from packager.errors import ChecksumError, NetworkError
from packager.pythons import (
    PIN_FILE,
    Pin,
    write_pins,
)
from packager.targets import Target
from tests.conftest import FaultServer, PbsRelease
from tests.helpers.interpreters import GNU, cache_leftovers, obtain, path_of


def test_flavor_and_partial_version_from_the_release(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    minor = ".".join(pbs_release.version.split(".")[:2])
    found = obtain(
        ctx, request=f"{minor}+{pbs_release.tag}", flavor="install_only", mirror=server.base
    )
    assert found.filename == pbs_release.install_only.name
    assert found.sha256 == pbs_release.sha256(pbs_release.install_only)


def test_release_without_the_target_says_what_it_has(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=request, target=Target("aarch64-unknown-linux-gnu"), mirror=server.base)
    assert str(err.value) == (
        f"release {pbs_release.tag} at {server.base} has no CPython {request} for "
        "aarch64-unknown-linux-gnu; it has nothing for aarch64-unknown-linux-gnu (it has: "
        "x86_64-unknown-linux-gnu)"
    )
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=f"3.11.99+{pbs_release.tag}", mirror=server.base)
    assert str(err.value) == (
        f"release {pbs_release.tag} at {server.base} has no CPython 3.11.99+{pbs_release.tag} "
        f"for {GNU}; for {GNU} it has: {pbs_release.version} install_only_stripped, "
        f"{pbs_release.version} install_only"
    )


def test_unknown_release_tag(ctx: Context, server: FaultServer, pbs_release: PbsRelease) -> None:
    with pytest.raises(NotFoundError) as err:
        obtain(ctx, request=f"{pbs_release.version}+20990102", mirror=server.base)
    assert str(err.value) == (
        f"release 20990102 is not at {server.base} ({server.base}/20990102/SHA256SUMS was not "
        "found); check the release tag and the mirror"
    )


def test_404_for_the_archive_lists_what_the_release_has(
    ctx: Context, fault_server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    mirror = pbs_release.copy_to(tmp_path / "mirror")
    mirror.stripped.unlink()
    fault_server.root = mirror.base
    url = fault_server.url(path_of(mirror, mirror.stripped))
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=f"{mirror.version}+{mirror.tag}", mirror=fault_server.base)
    assert str(err.value) == (
        f"{url} was not found (HTTP 404); check the URL or mirror; release {mirror.tag} there: "
        f"for {GNU} it has: {mirror.version} install_only_stripped, {mirror.version} install_only"
    )
    assert cache_leftovers(ctx) == []


def test_wrong_checksum_leaves_nothing_in_the_cache(
    ctx: Context, fault_server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    mirror = pbs_release.copy_to(tmp_path / "mirror")
    sums = mirror.dir / "SHA256SUMS"
    sums.unlink()  # a hard link: replace, do not edit the shared file
    wrong = "0" * 64
    sums.write_text(f"{wrong}  {mirror.stripped.name}\n")
    fault_server.root = mirror.base
    url = fault_server.url(path_of(mirror, mirror.stripped))
    with pytest.raises(ChecksumError) as err:
        obtain(ctx, request=f"{mirror.version}+{mirror.tag}", mirror=fault_server.base)
    actual = mirror.sha256(mirror.stripped)
    assert str(err.value).startswith(f"{url}: sha256 is {actual}, expected {wrong}; ")
    assert cache_leftovers(ctx) == []


def test_failures_on_the_way_are_retried_and_resumed(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    path = path_of(pbs_release, pbs_release.stripped)
    server.fail(path, ("status", 500), ("drop", 1_000_000))
    found = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}", mirror=server.base)
    assert found.path.read_bytes() == pbs_release.stripped.read_bytes()
    assert [(r["status"], r["range"]) for r in server.requests(path)] == [
        (500, None),
        (200, None),
        (206, "bytes=1000000-"),
    ]


def test_damaged_cache_entry_is_fetched_again(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    found = obtain(ctx, request=request, mirror=server.base)
    found.path.unlink()
    again = obtain(ctx, request=request, mirror=server.base)
    assert again.path.read_bytes() == pbs_release.stripped.read_bytes()
    assert len(server.requests(path_of(pbs_release, pbs_release.stripped))) == 2


def test_offline_with_a_warm_cache_uses_it(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    found = obtain(ctx, request=request, mirror=server.base)
    seen = len(server.log)
    offline = Context(cache_dir=ctx.cache_dir, offline=True, environ={})
    assert obtain(offline, request=request, mirror=server.base) == found
    assert obtain(offline, request=request) == found  # no mirror needed either
    pin_file = tmp_path / PIN_FILE
    write_pins(pin_file, {GNU: Pin(GNU, found.filename, "https://unused.example/x", found.sha256)})
    assert obtain(offline, pin_file=pin_file) == found
    assert len(server.log) == seen


def test_offline_with_a_cold_cache_says_what_is_missing(
    ctx: Context, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    offline = Context(cache_dir=ctx.cache_dir, offline=True, environ={})
    downloads = ctx.cache_dir / "downloads"
    with pytest.raises(NetworkError) as err:
        obtain(offline, request="3.12.7")
    assert str(err.value) == (
        "offline (--offline): "
        "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz is not in "
        f"the cache ({downloads}); run `pack python fetch 3.12.7+20241016 --target {GNU}` with "
        "network access first (or carry in a cache that has it), pass --python-archive PATH, or "
        "use a file:// mirror"
    )
    request = f"{pbs_release.version}+{pbs_release.tag}"
    with pytest.raises(NetworkError) as err:
        obtain(offline, request=request, mirror="http://127.0.0.1:9/pbs")
    assert str(err.value) == (
        f"offline (--offline): CPython {request} for {GNU} is not in the cache ({downloads}) and "
        f"its digest is in http://127.0.0.1:9/pbs/{pbs_release.tag}/SHA256SUMS, which cannot be "
        f"fetched; run `pack python fetch {request} --target {GNU}` with network access first, "
        "pass --python-archive PATH, or use a file:// mirror"
    )
    pin_file = tmp_path / PIN_FILE
    name = pbs_release.install_only.name
    write_pins(pin_file, {GNU: Pin(GNU, name, "https://pbs.example/x", "c" * 64)})
    with pytest.raises(NetworkError) as err:
        obtain(offline, pin_file=pin_file)
    assert f"run `pack python fetch {request} --target {GNU} --python-flavor install_only` " in (
        str(err.value)
    )


# Concurrency and crashes (real processes)

WORKER = """
import sys
from pathlib import Path
from packager.context import Context
from packager.pythons import obtain_interpreter
from packager.targets import Target

cache, mirror, pin = sys.argv[1:]
found = obtain_interpreter(
    Context(cache_dir=Path(cache), environ={}), request=None, variant=None, flavor=None,
    archive=None, target=Target("x86_64-unknown-linux-gnu"), mirror=mirror, pin_file=Path(pin),
)
print(found.path, found.sha256)
"""


def start_worker(cache: Path, mirror: str, pin_file: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACK_", "UV_PYTHON"))}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(cache), mirror, str(pin_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def pinned(release: PbsRelease, tmp_path: Path) -> Path:
    pin_file = tmp_path / PIN_FILE
    sha = release.sha256(release.stripped)
    write_pins(pin_file, {GNU: Pin(GNU, release.stripped.name, "http://127.0.0.1:9/x", sha)})
    return pin_file


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def waiting_on_a_lock(pid: int) -> bool:
    """Whether `pid` is blocked on a file lock (a `->` line of /proc/locks)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return any("->" in line and f" {pid} " in line for line in lines)


def test_two_processes_fetching_at_once_download_once(
    server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    pin_file = pinned(pbs_release, tmp_path)
    path = path_of(pbs_release, pbs_release.stripped)
    server.fail(path, ("hold", 1_000_000))  # the first download stalls half-way
    first = start_worker(cache, server.base, pin_file)
    wait_for(server.held.is_set, "the first download to start")
    second = start_worker(cache, server.base, pin_file)
    wait_for(lambda: waiting_on_a_lock(second.pid), "the second process to wait for the lock")
    server.release.set()
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert out1 == out2
    archive, sha = out1.split()
    assert sha == pbs_release.sha256(pbs_release.stripped)
    assert Path(archive).read_bytes() == pbs_release.stripped.read_bytes()
    assert len(server.requests(path)) == 1


def test_a_killed_download_leaves_nothing_trusted_and_the_next_run_recovers(
    server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    pin_file = pinned(pbs_release, tmp_path)
    path = path_of(pbs_release, pbs_release.stripped)
    sha = pbs_release.sha256(pbs_release.stripped)
    server.fail(path, ("hold", 1_000_000))
    worker = start_worker(cache, server.base, pin_file)
    wait_for(server.held.is_set, "the download to start")
    partial = cache / "downloads" / f".{sha}.{worker.pid}.partial"
    wait_for(lambda: any(partial.glob(".*.partial")), "bytes to reach the temp file")
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)
    server.release.set()
    entry = cache / "downloads" / sha
    assert not entry.exists()
    assert partial.is_dir()  # the half download is there, and untrusted: no marker
    assert not (partial / cache_mod.MARKER).exists()

    ctx = Context(cache_dir=cache, environ={})
    found = obtain(ctx, pin_file=pin_file, mirror=server.base)
    assert found.path == entry / pbs_release.stripped.name
    assert hashlib.sha256(found.path.read_bytes()).hexdigest() == sha
    assert (entry / cache_mod.MARKER).is_file()
    assert not partial.exists()
    assert len(server.requests(path)) == 2
