"""`pack python list|fetch|dir|lock` as a user runs them: the real CLI in a subprocess, a real
HTTP server and file:// mirrors serving the session's fake release."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

from packager.pythons import Catalog
from tests.conftest import FaultServer, PbsRelease
from tests.helpers.bundles import run_pack

GNU = "x86_64-unknown-linux-gnu"


@pytest.fixture
def server(fault_server: FaultServer, pbs_release: PbsRelease) -> FaultServer:
    fault_server.root = pbs_release.base
    return fault_server


def request_of(release: PbsRelease) -> str:
    return f"{release.version}+{release.tag}"


def test_dir(tmp_path: Path) -> None:
    proc = run_pack(["python", "dir"], tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'cache' / 'downloads'}\n"


def test_list_shows_the_newest_patch_of_each_minor(tmp_path: Path) -> None:
    proc = run_pack(["python", "list", "--target", GNU], tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert all(len(row) == 4 and row[3] == "-" for row in rows)
    labels = [row[0] for row in rows]
    newest = max(
        (a for a in Catalog.bundled().assets if a.triple == GNU and not a.freethreaded),
        key=lambda a: a.sort_key(),
    )
    assert labels[0] == newest.version
    minors = [
        ".".join(label.split(".")[:2]) + ("t" if label.endswith("t") else "") for label in labels
    ]
    assert len(minors) == len(set(minors))
    everything = run_pack(["python", "list", "--target", GNU, "--all"], tmp_path / "cache")
    assert len(everything.stdout.splitlines()) > len(rows)


def test_list_for_a_musl_target(tmp_path: Path) -> None:
    proc = run_pack(["python", "list", "--target", "aarch64-unknown-linux-musl"], tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    assert "3.12." in proc.stdout


def test_fetch_then_list_marks_it_cached(
    tmp_path: Path, server: FaultServer, pbs_release: PbsRelease
) -> None:
    cache = tmp_path / "cache"
    request = request_of(pbs_release)
    proc = run_pack(["python", "fetch", request, "--python-mirror", server.base], cache)
    assert proc.returncode == 0, proc.stderr
    sha = hashlib.sha256(pbs_release.stripped.read_bytes()).hexdigest()
    expected = cache / "downloads" / sha / pbs_release.stripped.name
    assert proc.stdout == f"{expected}\n"
    listing = run_pack(["python", "list"], cache)
    assert (
        f"{pbs_release.version:<10} {pbs_release.tag:<9} {'install_only_stripped':<22} {expected}"
        in listing.stdout.splitlines()
    )


def test_fetch_offline_from_a_file_mirror_in_the_environment(
    tmp_path: Path, pbs_release: PbsRelease
) -> None:
    proc = run_pack(
        [
            "python",
            "fetch",
            request_of(pbs_release),
            "--offline",
            "--python-flavor",
            "install_only",
        ],
        tmp_path / "cache",
        PACK_PYTHON_MIRROR=pbs_release.base.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(pbs_release.install_only.name)


def test_fetch_offline_with_a_cold_cache_fails_with_what_to_do(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = run_pack(["python", "fetch", "3.12.7", "--offline"], cache)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr == (
        "error: offline (--offline): "
        "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz is not in "
        f"the cache ({cache / 'downloads'}); run `pack python fetch 3.12.7+20241016 --target "
        f"{GNU}` with network access first (or carry in a cache that has it), pass "
        "--python-archive PATH, or use a file:// mirror\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "start"),
    [
        (
            ["fetch", "3.12.999"],
            2,
            "error: no CPython 3.12.999 for x86_64-unknown-linux-gnu in the "
            "catalog (pbs-installer ",
        ),
        (["fetch", "3.12", "--target", "x86_64-linux"], 2, "error: unknown target 'x86_64-linux'"),
        (
            ["fetch", "3.12", "--python-variant", "nogil"],
            2,
            "error: unknown Python variant 'nogil'",
        ),
        (["fetch", "two"], 2, "error: invalid Python request 'two': expected a version like 3.12"),
    ],
)
def test_fetch_errors(tmp_path: Path, args: list[str], code: int, start: str) -> None:
    proc = run_pack(["python", *args, "--offline"], tmp_path / "cache")
    assert proc.returncode == code
    assert proc.stderr.startswith(start), proc.stderr


def test_fetch_for_a_target_the_release_lacks(
    tmp_path: Path, server: FaultServer, pbs_release: PbsRelease
) -> None:
    proc = run_pack(
        [
            "python",
            "fetch",
            request_of(pbs_release),
            "--target",
            "aarch64-unknown-linux-musl",
            "--python-mirror",
            server.base,
        ],
        tmp_path / "cache",
    )
    assert proc.returncode == 3
    assert proc.stderr.endswith(
        "it has nothing for aarch64-unknown-linux-musl (it has: x86_64-unknown-linux-gnu)\n"
    )


def test_lock_pins_per_target_and_relocks_from_the_pin(
    tmp_path: Path, server: FaultServer, pbs_release: PbsRelease
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    cache = tmp_path / "cache"
    request = request_of(pbs_release)
    proc = run_pack(
        ["python", "lock", request, str(project), "--python-mirror", server.base], cache
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{GNU}  {pbs_release.stripped.name}\n"
    pins = tomllib.loads((project / "pack.lock").read_text())
    sha = hashlib.sha256(pbs_release.stripped.read_bytes()).hexdigest()
    assert pins == {
        "version": 1,
        "python": {
            GNU: {
                "request": request,
                "filename": pbs_release.stripped.name,
                "url": server.url(
                    f"/{pbs_release.tag}/{pbs_release.stripped.name.replace('+', '%2B')}"
                ),
                "sha256": sha,
            }
        },
    }
    assert not (cache / "downloads").exists()  # locking downloads nothing
    # A lone directory argument re-locks with the pinned request; --python-flavor changes it.
    proc = run_pack(
        [
            "python",
            "lock",
            str(project),
            "--python-mirror",
            server.base,
            "--python-flavor",
            "install_only",
        ],
        cache,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{GNU}  {pbs_release.install_only.name}\n"


def test_lock_takes_the_request_from_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n\n[tool.pack]\npython = "3.12.7"\n'
    )
    proc = run_pack(
        ["python", "lock", "--target", GNU, "--target", "aarch64-apple-darwin", "--offline"],
        tmp_path / "cache",
        cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"{GNU}  cpython-3.12.7+20241016-{GNU}-install_only_stripped.tar.gz\n"
        "aarch64-apple-darwin  cpython-3.12.7+20241016-aarch64-apple-darwin-install_only_stripped"
        ".tar.gz\n"
    )
    pins = tomllib.loads((project / "pack.lock").read_text())["python"]
    assert sorted(pins) == ["aarch64-apple-darwin", GNU]
    assert pins[GNU]["url"] == (
        "https://github.com/astral-sh/python-build-standalone/releases/download/20241016/"
        f"cpython-3.12.7%2B20241016-{GNU}-install_only_stripped.tar.gz"
    )
