"""Air-gapped builds: `pack fetch` fills a wheelhouse, then `pack build --offline` with a fresh
cache runs inside a network namespace with no network at all and gives the same archive as the
online build; a missing piece offline is an error that names it and says what to do."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.bundles import APPS, PACK, Built, pack_env, run_pack


def _no_network(command: list[str]) -> list[str]:
    """`command` in a new network namespace (only a loopback that is down)."""
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is required (apt-get install bubblewrap)"
    return [
        bwrap,
        "--bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-net",
        *command,
    ]


@pytest.fixture(scope="module")
def wheelhouse(
    tmp_path_factory: pytest.TempPathFactory, python_archive: Path, session_cache: Path
) -> Path:
    dest = tmp_path_factory.mktemp("wheelhouse")
    proc = run_pack(
        [
            "fetch",
            str(APPS / "compiled"),
            "--dest",
            str(dest),
            "--python-archive",
            str(python_archive),
            "--json",
        ],
        session_cache,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    (target,) = report["targets"]
    assert target["target"] == "x86_64-unknown-linux-gnu"
    assert target["interpreter"] == python_archive.name
    assert target["lock"] == [
        "markupsafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    ]
    assert any(name.startswith("hatchling-") for name in target["build"])
    return dest


def test_wheelhouse_contents(wheelhouse: Path, python_archive: Path) -> None:
    names = sorted(p.name for p in wheelhouse.iterdir())
    assert python_archive.name in names
    sidecar = (wheelhouse / f"{python_archive.name}.sha256").read_text().split()
    check = subprocess.run(
        ["sha256sum", python_archive], capture_output=True, text=True, check=True
    )
    assert sidecar == [check.stdout.split()[0], python_archive.name]
    wheels = [n for n in names if n.endswith(".whl")]
    assert "markupsafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" in wheels
    # The build backend and its own dependencies, so the app's wheel builds offline too.
    assert {n.split("-")[0] for n in wheels} >= {"hatchling", "packaging", "pathspec", "pluggy"}


def test_the_sandbox_has_no_network() -> None:
    probe = "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"
    proc = subprocess.run(
        _no_network([sys.executable, "-c", probe]), capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "gaierror" in proc.stderr or "unreachable" in proc.stderr, proc.stderr


def test_offline_build_in_an_air_gap(wheelhouse: Path, built_bundle: Built, tmp_path: Path) -> None:
    project = tmp_path / "compiled"
    shutil.copytree(
        APPS / "compiled", project, ignore=shutil.ignore_patterns("dist", "__pycache__")
    )
    cache = tmp_path / "fresh-cache"  # nothing cached: no interpreter, no wheels, no uv cache
    archive = next(wheelhouse.glob("cpython-*.tar.gz"))
    command = [
        *PACK,
        "build",
        str(project),
        "--offline",
        "--find-links",
        str(wheelhouse),
        "--python-archive",
        str(archive),
        "--out",
        str(tmp_path / "dist"),
        "--json",
    ]
    env = pack_env(cache)
    env.pop("UV_CACHE_DIR", None)
    proc = subprocess.run(_no_network(command), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provisioned"] == {"runtime": True, "environment": True}
    # The very bytes the online build produced.
    assert result["artifacts"][0]["sha256"] == built_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]
    assert (cache / "uv").is_dir()  # uv worked inside pack's cache, not the user's


def test_offline_without_the_wheel_names_it(python_archive: Path, tmp_path: Path) -> None:
    project = tmp_path / "compiled"
    shutil.copytree(
        APPS / "compiled", project, ignore=shutil.ignore_patterns("dist", "__pycache__")
    )
    empty = tmp_path / "empty-house"
    empty.mkdir()
    cache = tmp_path / "cache"
    proc = run_pack(
        [
            "build",
            str(project),
            "--offline",
            "--find-links",
            str(empty),
            "--python-archive",
            str(python_archive),
            "--out",
            str(tmp_path / "dist"),
        ],
        cache,
    )
    assert proc.returncode == 3
    assert proc.stderr.strip() == (
        "error: offline: markupsafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
        f".whl (markupsafe 3.0.2) is not in the cache ({cache / 'wheels'}) nor in --find-links "
        f"({empty}); run `pack fetch --dest DIR` where there is network and build with "
        "--find-links DIR"
    )
    # It failed before unpacking the interpreter, and left nothing behind.
    assert not (cache / "pythons").exists()
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == []
