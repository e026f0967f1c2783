"""Lockfiles in, one plan out: `pylock.toml` (PEP 751, read with packaging.pylock), `uv.lock`
(exported to pylock by uv) and hashed `requirements.txt` become the exact list of artifacts, each
with its sha256, that a target needs. No resolution happens here: the lock is the whole closure.
This module finds the lock and dispatches to the module that owns its format."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.tags import Tag

from pack_runtime.sums import sha256_file

from ..errors import LockError
from .model import (
    Artifact,
    ArtifactKind,
    LocalDirectory,
    LockFormat,
    LockPlan,
    LockRequest,
    LockSource,
    PylockCheck,
)
from .pylock import plan_pylock_file
from .requirements import plan_requirements_file
from .uvlock import plan_uv_lock

if TYPE_CHECKING:
    from ..context import Context

__all__ = [
    "Artifact",
    "ArtifactKind",
    "LocalDirectory",
    "LockFormat",
    "LockPlan",
    "LockRequest",
    "LockSource",
    "PylockCheck",
    "find_lock",
    "plan_lock",
]


def find_lock(project_dir: Path, configured: Path | None) -> LockSource:
    """The lock named in config, or the one found in the project (pylock.toml, then uv.lock)."""
    if configured is not None:
        if not configured.is_file():
            raise LockError(
                f"lock file {configured} (from [tool.pack] lock) does not exist; create it "
                "(uv lock, or uv export --format pylock.toml -o pylock.toml) or fix the path"
            )
        return _source(configured)
    candidates = [project_dir / "pylock.toml", *sorted(project_dir.glob("pylock.*.toml"))]
    candidates += [project_dir / "uv.lock", project_dir / "requirements.txt"]
    found = [c for c in candidates if c.is_file()]
    if found:
        chosen = _source(found[0])
        return LockSource(chosen.path, chosen.format, chosen.sha256, tuple(found[1:]))
    raise LockError(
        f"no lock file in {project_dir} (looked for pylock.toml, pylock.*.toml, uv.lock, "
        "requirements.txt); create one with `uv lock` or set [tool.pack] lock"
    )


def _source(path: Path) -> LockSource:
    name = path.name
    if name == "uv.lock":
        fmt: LockFormat = "uv.lock"
    elif name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml")):
        fmt = "pylock"
    elif name.endswith(".txt"):
        fmt = "requirements"
    else:
        raise LockError(
            f"{path}: unrecognised lock file name; use pylock.toml, pylock.<name>.toml, uv.lock "
            "or a hashed requirements .txt file"
        )
    return LockSource(path=path.absolute(), format=fmt, sha256=sha256_file(path))


def plan_lock(
    source: LockSource,
    *,
    uv: Path,
    environment: Mapping[str, str],
    tags: Sequence[Tag],
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    ctx: Context | None = None,
    find_links: Sequence[Path] = (),
    allow_unhashed: bool = False,
    project_dir: Path | None = None,
    check: PylockCheck | None = None,
) -> LockPlan:
    """Read `source` (any supported format) and plan it for one target. A requirements file
    needs `ctx`: its pins are matched to files through the index, the cache or `find_links`."""
    request = LockRequest(
        uv=uv,
        environment=dict(environment),
        tags=tags,
        extras=extras,
        groups=groups,
        ctx=ctx,
        find_links=find_links,
        allow_unhashed=allow_unhashed,
        project_dir=project_dir,
        check=check,
    )
    planner = _PLANNERS[source.format]
    return planner(source, request)


_PLANNERS: dict[LockFormat, Callable[[LockSource, LockRequest], LockPlan]] = {
    "pylock": plan_pylock_file,
    "uv.lock": plan_uv_lock,
    "requirements": plan_requirements_file,
}
