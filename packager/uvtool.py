"""The uv gateway: everything pack asks of uv (the one installer; export is in
locks.uvlock): building a wheel, installing verified local files into a venv with no
resolution, and pinning a project's build requirements for a wheelhouse."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

from uv import find_uv_bin

from ._proc import run
from .context import Context
from .errors import BuildError


def uv_bin() -> Path:
    return Path(find_uv_bin())


def uv_version() -> str:
    """The version of the uv package that provides the binary (what cache keys record)."""
    try:
        return metadata.version("uv")
    except metadata.PackageNotFoundError:
        return "unknown"


def link_args(find_links: Sequence[Path]) -> list[str | Path]:
    links: list[str | Path] = []
    for directory in find_links:
        links += ["--find-links", directory]
    return links


def uv_env(ctx: Context) -> dict[str, str]:
    """The environment uv runs in: the caller's, minus anything that would let uv fetch an
    interpreter or read a virtualenv other than the one it is given."""
    env = dict(ctx.environ)
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "UV_SYSTEM_PYTHON"):
        env.pop(key, None)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    # uv's cache lives in pack's (unless the user chose one), so a cache carried into an air
    # gap is complete and `pack cache clean` leaves nothing behind.
    env.setdefault("UV_CACHE_DIR", str(ctx.cache_dir / "uv"))
    if ctx.offline:
        env["UV_OFFLINE"] = "1"
    return env


def build_wheel(
    ctx: Context,
    project_dir: Path,
    out_dir: Path,
    python: Path,
    *,
    find_links: Sequence[Path] = (),
    isolated: bool = True,
) -> Path:
    """Build the project's wheel (non-editable) with its own build backend; return its path.
    Build requirements may come from `find_links` (what `pack fetch` puts in a wheelhouse).
    Not `isolated`: `python` is an environment that already holds them (buildenvs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hint = "fix the project's build (try `uv build --wheel` in it)"
    if ctx.offline:
        hint = (
            "offline, the build backend must be in uv's cache or a --find-links directory "
            "(`pack fetch` puts it there)"
        )
    run(
        [
            uv_bin(),
            "build",
            "--wheel",
            "--no-config",
            *([] if isolated else ["--no-build-isolation"]),
            *link_args(find_links),
            "--out-dir",
            out_dir,
            "--python",
            python,
            project_dir,
        ],
        what=f"building the wheel of {project_dir}",
        env=uv_env(ctx),
        hint=hint,
    )
    return wheel_in(out_dir, project_dir)


def wheel_in(out_dir: Path, project_dir: Path) -> Path:
    """The one wheel a build of `project_dir` wrote to `out_dir`."""
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(
            f"building {project_dir} produced {len(wheels)} wheels in {out_dir}, expected one"
        )
    return wheels[0]


def install_files(
    ctx: Context,
    venv_python: Path,
    files: Sequence[Path],
    *,
    what: str,
    extra_env: Mapping[str, str] | None = None,
    python_platform: str | None = None,
) -> None:
    """Install exactly `files` (wheels or sdists, already verified) into the venv of
    `venv_python`: no dependencies, no index, copies (never links into uv's cache). With
    `python_platform` (uv's name of a target), wheels are accepted for that platform rather
    than for the interpreter that runs the install."""
    if not files:
        return
    env = uv_env(ctx)
    env.update(extra_env or {})
    run(
        [
            uv_bin(),
            "pip",
            "install",
            "--no-config",
            "--python",
            venv_python,
            "--no-deps",
            "--no-index",
            "--link-mode",
            "copy",
            "--reinstall",
            *(["--python-platform", python_platform] if python_platform else []),
            *[os.fspath(f) for f in files],
        ],
        what=what,
        env=env,
    )


def compile_build_requirements(
    ctx: Context, requires: Sequence[str], *, python_version: str, platform: str, where: Path
) -> str:
    """Pin `requires` (a project's build-system.requires) with hashes for a Python version
    and platform (`x86_64-unknown-linux-gnu`): a requirements lock of the build backend."""
    with tempfile.TemporaryDirectory(prefix="pack-build-reqs-") as tmp:
        source = Path(tmp) / "build-requirements.in"
        source.write_text("".join(f"{r}\n" for r in requires), encoding="utf-8")
        out = Path(tmp) / "build-requirements.txt"
        run(
            [
                uv_bin(),
                "pip",
                "compile",
                "--no-config",
                "--generate-hashes",
                "--no-header",
                "--no-annotate",
                "--quiet",
                "--python-version",
                python_version,
                "--python-platform",
                platform,
                "-o",
                out,
                source,
            ],
            what=f"pinning the build requirements of {where} ({', '.join(requires)})",
            env=uv_env(ctx),
            hint="check [build-system] requires",
        )
        return out.read_text(encoding="utf-8")


def clear_uv_cache(ctx: Context, *, prune: bool) -> None:
    """`uv cache prune` (entries uv no longer needs) or `uv cache clean` on pack's own uv
    cache, never on one the user chose with UV_CACHE_DIR."""
    own = ctx.cache_dir / "uv"
    if not own.is_dir():
        return
    run(
        [uv_bin(), "cache", "prune" if prune else "clean", "--cache-dir", own, "--quiet"],
        what=f"{'pruning' if prune else 'cleaning'} uv's cache in {own}",
        env=uv_env(ctx),
        hint="another uv process may be using it; try again when builds are done",
    )
