"""`uv.lock`, read through uv: exported to pylock form (uv checks the lock is current with
pyproject.toml while it does), then planned as a pylock is."""

from __future__ import annotations

import shlex
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._proc import explain, run
from ..errors import LockError
from ..install import uv_env
from .model import LockPlan, LockRequest, LockSource
from .pylock import check_known, parse_pylock, plan_from_pylock

if TYPE_CHECKING:
    pass


def export_uv_lock(
    source: LockSource,
    uv: Path,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    offline: bool = False,
    env: Mapping[str, str] | None = None,
    find_links: Sequence[Path] = (),
) -> dict[str, Any]:
    """Export uv.lock to pylock form with uv: the project itself left out, only the groups
    asked for (not uv's default `dev`), nothing editable. uv itself checks that the lock is
    up to date with pyproject.toml (`--locked`: a quick comparison, no resolution when it is);
    `directory` paths come back absolute."""
    _check_selection(source.path.parent / "pyproject.toml", extras, groups)
    with tempfile.TemporaryDirectory(prefix="pack-export-") as tmp:
        out = Path(tmp) / "pylock.toml"
        argv: list[str | Path] = [
            uv,
            "export",
            "--format",
            "pylock.toml",
            "--locked",
            "--no-emit-project",
            "--no-default-groups",
            "--no-editable",
            "--no-header",
            "--quiet",
            "-o",
            out,
        ]
        for extra in extras:
            argv += ["--extra", extra]
        for group in groups:
            argv += ["--group", group]
        if offline:
            argv.append("--offline")
        # Checking the lock may build the project's metadata (a dynamic version): offline,
        # its build backend comes from the wheelhouse.
        for directory in find_links:
            argv += ["--find-links", directory]
        proc = run(
            argv,
            what=f"exporting {source.path} with uv",
            cwd=source.path.parent,
            env=env,
            error=LockError,
            check_exit=False,
        )
        if proc.returncode != 0:
            output = proc.stderr.decode(errors="replace")
            details = f"$ {shlex.join(str(a) for a in argv)}\n{output}"
            pyproject = source.path.parent / "pyproject.toml"
            stale = "needs to be updated" in output
            if stale or (offline and "network was disabled" in output):
                raise LockError(
                    f"{source.path} is out of date with {pyproject} (uv says: "
                    f"{explain(output)}); run `uv lock` and commit the result",
                    details=details,
                )
            raise LockError(
                f"exporting {source.path} with uv failed: {explain(output)}", details=details
            )
        with open(out, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
        for package in data.get("packages", []):
            local = package.get("directory") if isinstance(package, dict) else None
            if isinstance(local, dict) and isinstance(local.get("path"), str):
                local["path"] = str((Path(tmp) / local["path"]).resolve())
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
