"""Everything pack asks of uv (the one installer): export is in lockfile; here, building the
project's wheel and installing verified local files into a venv with no resolution."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from uv import find_uv_bin

from ._proc import run
from .context import Context
from .errors import BuildError


def uv_bin() -> Path:
    return Path(find_uv_bin())


def uv_env(ctx: Context) -> dict[str, str]:
    """The environment uv runs in: the caller's, minus anything that would let uv fetch an
    interpreter or read a virtualenv other than the one it is given."""
    env = dict(ctx.environ)
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "UV_SYSTEM_PYTHON"):
        env.pop(key, None)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    if ctx.offline:
        env["UV_OFFLINE"] = "1"
    return env


def build_wheel(ctx: Context, project_dir: Path, out_dir: Path, python: Path) -> Path:
    """Build the project's wheel (non-editable) with its own build backend; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run(
        [uv_bin(), "build", "--wheel", "--no-config", "--out-dir", out_dir, "--python", python, project_dir],
        what=f"building the wheel of {project_dir}",
        env=uv_env(ctx),
        hint="fix the project's build (try `uv build --wheel` in it)",
    )
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"building {project_dir} produced {len(wheels)} wheels in {out_dir}, expected one")
    return wheels[0]


def install_files(
    ctx: Context,
    venv_python: Path,
    files: Sequence[Path],
    *,
    what: str,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Install exactly `files` (wheels or sdists, already verified) into the venv of
    `venv_python`: no dependencies, no index, copies (never links into uv's cache)."""
    if not files:
        return
    env = uv_env(ctx)
    env.update(extra_env or {})
    run(
        [
            uv_bin(), "pip", "install", "--no-config", "--python", venv_python,
            "--no-deps", "--no-index", "--link-mode", "copy", "--reinstall",
            *[os.fspath(f) for f in files],
        ],
        what=what,
        env=env,
    )
