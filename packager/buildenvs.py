"""Wheel builds with a cached build environment: a project's build requirements, pinned with
hashes by uv for the build interpreter, are installed once into pack's cache, and a rebuild
runs the backend there (`uv build --no-build-isolation`) instead of resolving and installing
them into a fresh environment every time. The pins are resolved at every build, so the
environment is the one an isolated build would make; whatever the fast path cannot build, the
isolated build builds (or explains)."""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import cache as cache_mod
from ._fs import atomic_write_bytes, remove_tree
from ._proc import run
from .background import Background
from .context import Context
from .errors import BuildError
from .uvtool import build_wheel as uv_build_wheel
from .uvtool import link_args, uv_bin, uv_env, uv_version

# Bump when the way a build environment is made changes.
BUILD_ENV_LAYOUT = 1

_HINT_FILE = "env"  # in a build-env-hints entry: the key of a build-envs entry

# [tool.uv] tables that change how uv resolves or runs a build beyond build-system.requires:
# such a project is always built in isolation, exactly as `uv build` does it.
_UV_BUILD_SETTINGS = (
    "sources",
    "extra-build-dependencies",
    "extra-build-variables",
    "build-constraint-dependencies",
    "dependency-metadata",
    "config-settings",
    "config-settings-package",
)


def build_wheel(
    ctx: Context,
    project_dir: Path,
    out_dir: Path,
    python: Path,
    *,
    find_links: Sequence[Path] = (),
) -> Path:
    """The project's wheel, built by its backend: in a cached environment of its pinned build
    requirements when the project allows, else (or when that fails) in an isolated one. Both
    give the same bytes; the isolated build's error is the one reported.

    While uv pins the build requirements, the wheel is already built in the environment the
    project's last build used (when there is one): that build counts only when the pins name
    the same environment; otherwise it is killed and its output removed."""
    requires = _read_build_requirements(project_dir)
    hint = _hint_entry(ctx, project_dir, requires, python) if requires is not None else None
    guess = _guessed_env(hint) if hint is not None else None
    ahead: Background[Path] | None = None
    if guess is not None:
        guessed = guess
        ahead = Background(
            lambda: uv_build_wheel(
                ctx, project_dir, out_dir, guessed, find_links=find_links, isolated=False
            ),
            "wheel build ahead of the pins",
        )
    try:
        env_python = (
            build_env_python(ctx, project_dir, python, requires, find_links=find_links)
            if requires is not None
            else None
        )
        if ahead is not None and env_python != guess:
            ahead.stop()
            ahead = None
            remove_tree(out_dir)
    except BaseException:
        if ahead is not None:
            ahead.stop()
        raise
    if env_python is not None:
        if hint is not None:
            _remember(hint, env_python)
        try:
            if ahead is not None:
                return ahead.result()
            return uv_build_wheel(
                ctx, project_dir, out_dir, env_python, find_links=find_links, isolated=False
            )
        except BuildError as exc:
            ctx.reporter.detail(
                f"building {project_dir} in the cached build environment failed ({exc}); "
                "building it in an isolated one"
            )
            for stale in out_dir.glob("*.whl"):
                stale.unlink()
    return uv_build_wheel(ctx, project_dir, out_dir, python, find_links=find_links)


def build_requirements(pyproject: Mapping[str, Any]) -> list[str] | None:
    """The `[build-system] requires` of a project that a cached environment can build: one
    that names its backend and whose [tool.uv] does not change how uv builds it; else None."""
    system = pyproject.get("build-system")
    if not isinstance(system, dict):
        return None
    requires, backend = system.get("requires"), system.get("build-backend")
    if not isinstance(backend, str) or not isinstance(requires, list):
        return None
    if not all(isinstance(r, str) for r in requires):
        return None
    tool = pyproject.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if isinstance(uv, dict) and any(key in uv for key in _UV_BUILD_SETTINGS):
        return None
    return list(requires)


def _interpreter_identity(python: Path) -> list[object]:
    real = python.resolve()
    st = real.stat()
    return [str(real), st.st_size, st.st_mtime_ns]


def _read_build_requirements(project_dir: Path) -> list[str] | None:
    """build_requirements of the project's pyproject.toml; None when it cannot be read."""
    try:
        with open(project_dir / "pyproject.toml", "rb") as f:
            return build_requirements(tomllib.load(f))
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _hint_entry(ctx: Context, project_dir: Path, requires: list[str], python: Path) -> Path | None:
    """The cache entry naming the build environment the project's wheel was last built in
    (with these requirements, by this interpreter)."""
    try:
        key = cache_mod.cache_key(
            {
                "layout": BUILD_ENV_LAYOUT,
                "project": str(project_dir.resolve()),
                "requires": requires,
                "interpreter": _interpreter_identity(python),
            }
        )
    except OSError:
        return None
    return cache_mod.Cache(ctx.cache_dir).entry(cache_mod.BUILD_ENV_HINTS, key)


_ENV_KEY = re.compile(r"[0-9a-f]{32}")


def _guessed_env(hint: Path) -> Path | None:
    """The interpreter of the environment `hint` names, if it is still provisioned."""
    try:
        key = (hint / _HINT_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _ENV_KEY.fullmatch(key):
        return None
    entry = hint.parent.parent / cache_mod.BUILD_ENVS / key
    if not cache_mod.Cache(hint.parent.parent).is_provisioned(entry):
        return None
    return entry / "venv" / "bin" / "python"


def _remember(hint: Path, env_python: Path) -> None:
    """Record in `hint` the environment of `env_python` (build-envs/<key>/venv/bin/python)."""
    key = env_python.parents[2].name
    try:
        if (hint / _HINT_FILE).read_text(encoding="ascii").strip() == key:
            cache_mod.touch_used(hint)
            return
    except (OSError, UnicodeDecodeError):
        pass

    def write(tmp: Path) -> None:
        (tmp / _HINT_FILE).write_text(key + "\n", encoding="ascii")

    with contextlib.suppress(OSError):
        if not cache_mod.provision(hint, write):
            # An older hint: a hint is only ever a guess, rewritten whole.
            atomic_write_bytes(hint / _HINT_FILE, (key + "\n").encode())


def build_env_python(
    ctx: Context,
    project_dir: Path,
    python: Path,
    requires: list[str],
    *,
    find_links: Sequence[Path] = (),
) -> Path | None:
    """The interpreter of the cached environment holding the project's build requirements
    `requires` (provisioned now if it is new), or None when they cannot be pinned or
    installed here (the isolated build then says why)."""
    env = _pin_env(ctx)
    pinned = run(
        [
            uv_bin(),
            "pip",
            "compile",
            "--no-config",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--generate-hashes",
            *link_args(find_links),
            *_build_constraints(ctx.environ),
            "--python",
            python,
            "-",
        ],
        what=f"pinning the build requirements of {project_dir}",
        env=env,
        input="".join(f"{r}\n" for r in requires).encode(),
        check_exit=False,
    )
    if pinned.returncode != 0:
        return None
    lock = pinned.stdout.decode()
    try:
        key = cache_mod.cache_key(
            {
                "layout": BUILD_ENV_LAYOUT,
                "requirements": lock,
                "interpreter": _interpreter_identity(python),
                "installer": f"uv {uv_version()}",
            }
        )
    except OSError:
        return None
    entry = cache_mod.Cache(ctx.cache_dir).entry(cache_mod.BUILD_ENVS, key)

    def provision(tmp: Path) -> None:
        ctx.reporter.step(f"Installing the build requirements of {project_dir.name}")
        (tmp / "requirements.txt").write_text(lock, encoding="utf-8")
        venv: list[str | Path] = [uv_bin(), "venv", "--no-config", "--quiet", "--relocatable"]
        run(
            [*venv, "--python", python, tmp / "venv"],
            what=f"creating a build environment for {project_dir}",
            env=env,
        )
        run(
            [
                uv_bin(), "pip", "install", "--no-config", "--quiet",
                "--python", tmp / "venv" / "bin" / "python",
                "--no-deps", "--require-hashes", "--link-mode", "copy", "--compile-bytecode",
                *link_args(find_links),
                "-r", tmp / "requirements.txt",
            ],
            what=f"installing the build requirements of {project_dir}",
            env=env,
        )  # fmt: skip

    try:
        cache_mod.provision(entry, provision)
    except BuildError as exc:
        ctx.reporter.detail(f"no cached build environment for {project_dir}: {exc}")
        return None
    return entry / "venv" / "bin" / "python"


def _pin_env(ctx: Context) -> dict[str, str]:
    """uv's environment for pinning build requirements as `uv build` resolves them: the
    constraints and overrides of the project's own dependencies do not apply to them."""
    env = uv_env(ctx)
    for key in ("UV_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT"):
        env.pop(key, None)
    return env


def _build_constraints(environ: Mapping[str, str]) -> list[str]:
    """UV_BUILD_CONSTRAINT (space-separated files) as constraints of the pinning."""
    out: list[str] = []
    for name in environ.get("UV_BUILD_CONSTRAINT", "").split():
        out += ["--constraint", os.fspath(name)]
    return out
