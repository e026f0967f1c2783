"""`uv.lock`, read through uv: exported to pylock form (uv checks the lock is current with
pyproject.toml while it does), then planned as a pylock is."""

from __future__ import annotations

import os
import shlex
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import cache as cache_mod
from .._proc import explain, run
from ..errors import LockError
from ..uvtool import uv_env, uv_version
from .exportmemo import export_key
from .model import LockPlan, LockRequest, LockSource
from .pylock import check_known, parse_pylock, plan_from_pylock


def export_uv_lock(
    source: LockSource,
    uv: Path,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    offline: bool = False,
    env: Mapping[str, str] | None = None,
    find_links: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Export uv.lock to pylock form with uv: the project itself left out, only the groups
    asked for (not uv's default `dev`), nothing editable. uv itself checks that the lock is
    up to date with pyproject.toml (`--locked`: a quick comparison, no resolution when it is);
    `directory` paths come back absolute. With `cache_dir`, an export whose inputs are all
    unchanged (exportmemo) is read from the cache instead of asking uv again."""
    _check_selection(source.path.parent / "pyproject.toml", extras, groups)
    args: list[str] = [
        "export",
        "--format",
        "pylock.toml",
        "--locked",
        "--no-emit-project",
        "--no-default-groups",
        "--no-editable",
        "--no-header",
        "--quiet",
    ]
    for extra in extras:
        args += ["--extra", extra]
    for group in groups:
        args += ["--group", group]
    if offline:
        args.append("--offline")
    # Checking the lock may build the project's metadata (a dynamic version): offline,
    # its build backend comes from the wheelhouse.
    for directory in find_links:
        args += ["--find-links", os.fspath(directory)]
    key = None
    if cache_dir is not None:
        key = export_key(source.path, args, env if env is not None else os.environ, uv_version())
    if key is None:
        with tempfile.TemporaryDirectory(prefix="pack-export-") as tmp:
            _run_export(source, uv, args, Path(tmp) / PYLOCK, env)
            return _read_export(Path(tmp))
    assert cache_dir is not None
    entry = cache_mod.Cache(cache_dir).entry(cache_mod.EXPORTS, key)
    # Written beside the entry and renamed: uv's relative `directory` paths stay right.
    cache_mod.provision(entry, lambda tmp: _run_export(source, uv, args, tmp / PYLOCK, env))
    return _read_export(entry)


PYLOCK = "pylock.toml"


def _run_export(
    source: LockSource, uv: Path, args: list[str], out: Path, env: Mapping[str, str] | None
) -> None:
    argv: list[str | Path] = [uv, *args, "-o", out]
    proc = run(
        argv,
        what=f"exporting {source.path} with uv",
        cwd=source.path.parent,
        env=env,
        error=LockError,
        check_exit=False,
    )
    if proc.returncode == 0:
        return
    output = proc.stderr.decode(errors="replace")
    details = f"$ {shlex.join(str(a) for a in argv)}\n{output}"
    pyproject = source.path.parent / "pyproject.toml"
    stale = "needs to be updated" in output
    if stale or ("--offline" in args and "network was disabled" in output):
        raise LockError(
            f"{source.path} is out of date with {pyproject} (uv says: "
            f"{explain(output)}); run `uv lock` and commit the result",
            details=details,
        )
    raise LockError(f"exporting {source.path} with uv failed: {explain(output)}", details=details)


def _read_export(folder: Path) -> dict[str, Any]:
    """The export in `folder`, its `directory` paths (relative to it) made absolute."""
    with open(folder / PYLOCK, "rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    for package in data.get("packages", []):
        local = package.get("directory") if isinstance(package, dict) else None
        if isinstance(local, dict) and isinstance(local.get("path"), str):
            local["path"] = str((folder / local["path"]).resolve())
    return data


def _check_selection(pyproject: Path, extras: Sequence[str], groups: Sequence[str]) -> None:
    """Extras and groups asked for must exist in the project (uv would fail less clearly)."""
    if not extras and not groups:
        return
    try:
        with open(pyproject, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{pyproject}: cannot read it to check extras and groups: {exc}") from exc
    project = data.get("project", {})
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    declared_groups = data.get("dependency-groups", {})
    check_known(
        "extra", extras, sorted(optional or {}), str(pyproject), "[project.optional-dependencies]"
    )
    check_known(
        "group", groups, sorted(declared_groups or {}), str(pyproject), "[dependency-groups]"
    )


def plan_uv_lock(source: LockSource, request: LockRequest) -> LockPlan:
    """Export the uv.lock of `source` with uv and plan it for one target."""
    ctx = request.ctx
    data = export_uv_lock(
        source,
        request.uv,
        extras=request.extras,
        groups=request.groups,
        offline=ctx.offline if ctx else False,
        env=uv_env(ctx) if ctx else None,
        find_links=request.find_links,
        cache_dir=ctx.cache_dir if ctx else None,
    )
    pylock = parse_pylock(data, source.path)
    return plan_from_pylock(
        pylock,
        source,
        environment=request.environment,
        tags=request.tags,
        project_dir=request.project_dir,
        check=request.check,
    )
