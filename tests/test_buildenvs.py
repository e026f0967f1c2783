"""Wheel builds with a cached build environment (packager/buildenvs.py), with real uv, a real
hatchling from the index and a real project: the same wheel bytes as an isolated build, the
environment provisioned once, and every build the fast path cannot do left to the isolated
build, whose error is the one reported."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from packager import cache as cache_mod
from packager.buildenvs import _hint_entry, build_requirements, build_wheel
from packager.context import Context, RecordingReporter
from packager.errors import BuildError
from packager.uvtool import build_wheel as isolated_build_wheel
from tests.helpers.bundles import APPS

PYTHON = Path(sys.executable)


def _ctx(tmp_path: Path, session_cache: Path) -> Context:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PYTHON"))}
    environ["SOURCE_DATE_EPOCH"] = "1700000000"
    # uv's downloads are shared by the session; pack's cache (the build environments) is not.
    environ["UV_CACHE_DIR"] = str(session_cache / "uv")
    return Context(cache_dir=tmp_path / "cache", environ=environ, reporter=RecordingReporter())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "compiled"
    shutil.copytree(APPS / "compiled", dest, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return dest


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit(project: Path, old: str, new: str, append: str = "") -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(old, new) + append)


def _messages(ctx: Context) -> list[tuple[str, str]]:
    assert isinstance(ctx.reporter, RecordingReporter)
    return ctx.reporter.messages


def test_the_cached_environment_gives_the_isolated_builds_bytes(
    tmp_path: Path, session_cache: Path, project: Path
) -> None:
    ctx = _ctx(tmp_path, session_cache)
    isolated = isolated_build_wheel(ctx, project, tmp_path / "isolated", PYTHON)
    first = build_wheel(ctx, project, tmp_path / "first", PYTHON)
    second = build_wheel(ctx, project, tmp_path / "second", PYTHON)

    assert first.name == second.name == isolated.name == "compiled_app-1.2.0-py3-none-any.whl"
    assert _digest(first) == _digest(second) == _digest(isolated)
    envs = list((ctx.cache_dir / cache_mod.BUILD_ENVS).iterdir())
    entries = [e for e in envs if not e.name.endswith(".lock")]
    assert len(entries) == 1 and (entries[0] / cache_mod.MARKER).is_file()
    assert list((entries[0] / "venv").glob("lib/python3*/site-packages/hatchling"))
    # Provisioned by the first build only; neither fell back to an isolated build.
    assert _messages(ctx) == [("step", "Installing the build requirements of compiled")]


def test_a_changed_source_is_rebuilt_with_the_cached_environment(
    tmp_path: Path, session_cache: Path, project: Path
) -> None:
    ctx = _ctx(tmp_path, session_cache)
    before = build_wheel(ctx, project, tmp_path / "before", PYTHON)
    module = next(project.glob("src/compiled_app/main.py"))
    module.write_text(module.read_text() + "\nCHANGED = True\n")
    after = build_wheel(ctx, project, tmp_path / "after", PYTHON)
    isolated = isolated_build_wheel(ctx, project, tmp_path / "isolated", PYTHON)

    assert _digest(before) != _digest(after) == _digest(isolated)
    assert len(_messages(ctx)) == 1


def test_a_backend_failure_is_the_isolated_builds_error(
    tmp_path: Path, session_cache: Path, project: Path
) -> None:
    _edit(
        project,
        'version = "1.2.0"',
        'dynamic = ["version"]',
        '\n[tool.hatch.version]\npath = "src/missing.py"\n',
    )
    ctx = _ctx(tmp_path, session_cache)
    with pytest.raises(BuildError) as err:
        build_wheel(ctx, project, tmp_path / "out", PYTHON)
    assert str(err.value) == (
        f"building the wheel of {project} failed (exit 2): OSError: Error getting the version "
        "from source `regex`: file does not exist: src/missing.py; fix the project's build "
        "(try `uv build --wheel` in it)"
    )
    fell_back = [m for kind, m in _messages(ctx) if kind == "detail"]
    assert len(fell_back) == 1
    assert fell_back[0].startswith(f"building {project} in the cached build environment failed")
    assert fell_back[0].endswith("; building it in an isolated one")
    assert not list((tmp_path / "out").glob("*.whl"))


def test_unpinnable_build_requirements_are_left_to_the_isolated_build(
    tmp_path: Path, session_cache: Path, project: Path
) -> None:
    _edit(project, 'requires = ["hatchling"]', 'requires = ["hatchling>=999"]')
    ctx = _ctx(tmp_path, session_cache)
    with pytest.raises(BuildError) as err:
        build_wheel(ctx, project, tmp_path / "out", PYTHON)
    assert str(err.value).startswith(f"building the wheel of {project} failed (exit 2): ")
    assert "hatchling>=999" in str(err.value)
    assert not (ctx.cache_dir / cache_mod.BUILD_ENVS).exists()
    assert _messages(ctx) == []


REQUIRES = ["hatchling>=1.20", "hatch-vcs"]
BUILD_SYSTEM = {"requires": REQUIRES, "build-backend": "hatchling.build"}
VCS = {"hatch-vcs": {"path": "."}}


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        ({"build-system": BUILD_SYSTEM}, REQUIRES),
        ({"build-system": BUILD_SYSTEM, "tool": {"uv": {"package": True}}}, REQUIRES),
        ({"project": {"name": "legacy"}}, None),  # setup.py: uv's legacy backend
        ({"build-system": {"requires": ["setuptools"]}}, None),
        ({"build-system": {"build-backend": "x", "requires": "x"}}, None),
        ({"build-system": {"build-backend": "x", "requires": [1]}}, None),
        ({"build-system": BUILD_SYSTEM, "tool": {"uv": {"sources": VCS}}}, None),
        ({"build-system": BUILD_SYSTEM, "tool": {"uv": {"extra-build-dependencies": {}}}}, None),
    ],
)  # fmt: skip
def test_which_projects_a_cached_environment_builds(
    pyproject: dict[str, object], expected: list[str] | None
) -> None:
    assert build_requirements(pyproject) == expected


def _hint(ctx: Context, project: Path) -> Path:
    hint = _hint_entry(ctx, project, ["hatchling"], PYTHON)
    assert hint is not None
    return hint / "env"


def _env_entries(ctx: Context) -> list[Path]:
    found = (ctx.cache_dir / cache_mod.BUILD_ENVS).iterdir()
    return [e for e in found if not e.name.endswith(".lock")]


def test_a_rebuild_starts_in_the_last_builds_environment_and_records_it(
    tmp_path: Path, session_cache: Path, project: Path
) -> None:
    ctx = _ctx(tmp_path, session_cache)
    build_wheel(ctx, project, tmp_path / "first", PYTHON)
    (env,) = _env_entries(ctx)
    assert _hint(ctx, project).read_text() == f"{env.name}\n"
    # A stale hint (the pins now name another environment) that would hang: the build made
    # ahead in it is killed and removed, the pinned environment builds, the hint follows it.
    stale = ctx.cache_dir / cache_mod.BUILD_ENVS / ("0" * 32)
    (stale / "venv" / "bin").mkdir(parents=True)
    pid = tmp_path / "ahead.pid"
    (stale / "venv" / "bin" / "python").write_text(f"#!/bin/sh\necho $$ > {pid}\nexec sleep 120\n")
    (stale / "venv" / "bin" / "python").chmod(0o755)
    (stale / cache_mod.MARKER).write_text("{}\n")
    _hint(ctx, project).write_text("0" * 32 + "\n")
    isolated = isolated_build_wheel(ctx, project, tmp_path / "isolated", PYTHON)

    wheel = build_wheel(ctx, project, tmp_path / "second", PYTHON)

    assert _digest(wheel) == _digest(isolated)
    listing = [sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("first", "second")]
    assert listing[0] == listing[1] == [".gitignore", wheel.name]  # what uv build writes
    assert _hint(ctx, project).read_text() == f"{env.name}\n"
    assert len(_messages(ctx)) == 1  # nothing fell back to an isolated build
    # uv ran the hint's interpreter, and it was killed with uv.
    _wait_gone(int(pid.read_text()))


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} outlived the build that started it")


@pytest.mark.parametrize("content", ["../../../etc\n", "0" * 31 + "g\n", "", "\xff"])
def test_a_hint_that_names_no_environment_is_ignored(
    tmp_path: Path, session_cache: Path, project: Path, content: str
) -> None:
    ctx = _ctx(tmp_path, session_cache)
    hint = _hint(ctx, project)
    hint.parent.mkdir(parents=True)
    hint.write_text(content, encoding="latin-1")
    (hint.parent / cache_mod.MARKER).write_text("{}\n")
    wheel = build_wheel(ctx, project, tmp_path / "out", PYTHON)
    (env,) = _env_entries(ctx)
    assert wheel.name == "compiled_app-1.2.0-py3-none-any.whl"
    assert hint.read_text() == f"{env.name}\n"
