"""Session fixtures: one interpreter archive, one pack cache and one build of each example app
per test run, shared by every test that only reads them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.bundles import APPS, Built, run_pack
from tests.helpers.python_archive import make_python_archive


@pytest.fixture(scope="session")
def pbs_archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a python-build-standalone format archive made from this interpreter
    and its SHA256SUMS, built once per session."""
    out = tmp_path_factory.mktemp("pbs")
    make_python_archive(out)
    return out


@pytest.fixture(scope="session")
def python_archive(pbs_archive_dir: Path) -> Path:
    return next(pbs_archive_dir.glob("cpython-*.tar.gz"))


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack cache shared by the session's builds (warm after the first)."""
    return tmp_path_factory.mktemp("pack-cache")


def _build(app: str, tmp: Path, python_archive: Path, cache: Path, *extra: str) -> Built:
    project = tmp / app
    shutil.copytree(APPS / app, project, ignore=shutil.ignore_patterns("dist", "__pycache__", "*.egg-info", "build"))
    proc = run_pack(["build", str(project), "--python-archive", str(python_archive), "--json", *extra], cache)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    artifact = result["artifacts"][0]
    return Built(
        archive=Path(artifact["path"]),
        name=result["name"],
        version=result["version"],
        target=artifact["target"],
        result=result,
        project=project,
        cache_dir=cache,
    )


@pytest.fixture(scope="session")
def built_bundle(tmp_path_factory: pytest.TempPathFactory, python_archive: Path, session_cache: Path) -> Built:
    """The compiled-app example (uv.lock, a manylinux dependency, two launchers) as .tar.zst."""
    return _build("compiled", tmp_path_factory.mktemp("build-compiled"), python_archive, session_cache)


@pytest.fixture(scope="session")
def thirdparty_bundle(tmp_path_factory: pytest.TempPathFactory, python_archive: Path, session_cache: Path) -> Built:
    """The flakes-bundle example (pylock.toml, no build system, a third-party console script)."""
    return _build("thirdparty", tmp_path_factory.mktemp("build-thirdparty"), python_archive, session_cache)
