"""What a lock is planned into, whatever its format: the lock file itself (`LockSource`), the
pinned files to install (`Artifact`), the local projects to build (`LocalDirectory`) and, for one
target, the whole of it (`LockPlan`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.pylock import Pylock
from packaging.tags import Tag

from ..errors import LockError

if TYPE_CHECKING:
    from ..context import Context

# Called with a parsed lock, its extras and groups before selection; raises to refuse it.
PylockCheck = Callable[[Pylock, Sequence[str], Sequence[str] | None], None]
LockFormat = Literal["pylock", "uv.lock", "requirements"]
ArtifactKind = Literal["wheel", "sdist", "archive"]


@dataclass(frozen=True)
class LockSource:
    path: Path
    format: LockFormat
    sha256: str  # of the lock file as written by the user
    # Other lock files the project has that discovery passed over (to say so in the output).
    ignored: tuple[Path, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Artifact:
    """One file to install, fully pinned."""

    name: str
    version: str | None
    kind: ArtifactKind
    filename: str
    url: str | None  # where to fetch it, when not a local path
    path: Path | None  # a local file named by the lock (absolute)
    sha256: str


@dataclass(frozen=True)
class LocalDirectory:
    """A `directory` package of the lock other than the project (a path dependency, a uv
    workspace member): built into a wheel and installed with the project's."""

    name: str
    path: Path  # absolute, resolved
    editable: bool  # as the lock says; pack always builds a regular wheel


@dataclass(frozen=True)
class LockPlan:
    source: LockSource
    artifacts: tuple[Artifact, ...]
    directories: tuple[LocalDirectory, ...] = ()
    project_listed: bool = False  # the lock lists the project itself (left out: built anyway)

    @classmethod
    def of(
        cls,
        source: LockSource,
        artifacts: Iterable[Artifact],
        directories: Iterable[LocalDirectory],
        project_listed: bool,
    ) -> LockPlan:
        """The plan with its artifacts and directories in name order."""
        return cls(
            source=source,
            artifacts=tuple(sorted(artifacts, key=lambda a: a.name)),
            directories=tuple(sorted(directories, key=lambda d: d.name)),
            project_listed=project_listed,
        )

    @property
    def digest(self) -> str:
        """A digest of exactly what gets installed (not of the lock's formatting)."""
        h = hashlib.sha256()
        for a in sorted(self.artifacts, key=lambda a: a.name):
            h.update(f"{a.name}\0{a.filename}\0{a.sha256}\n".encode())
        return h.hexdigest()


@dataclass(frozen=True)
class LockRequest:
    """What planning a lock for one target takes besides the lock: the target's marker
    environment and tags, the extras and groups asked for, and how files are found."""

    uv: Path
    environment: dict[str, str]
    tags: Sequence[Tag]
    extras: Sequence[str] = ()
    groups: Sequence[str] = ()
    ctx: Context | None = None
    find_links: Sequence[Path] = ()
    allow_unhashed: bool = False
    project_dir: Path | None = None
    check: PylockCheck | None = None


def check_directory(path: str, resolved: Path, label: str) -> None:
    """A lock's `directory` package must be a project (a folder with pyproject.toml or
    setup.py): pack builds it."""
    if not resolved.is_dir():
        raise LockError(
            f"{label}: directory {path} ({resolved}) does not exist; restore it or regenerate "
            "the lock"
        )
    if not (resolved / "pyproject.toml").is_file() and not (resolved / "setup.py").is_file():
        raise LockError(
            f"{label}: directory {path} ({resolved}) has no pyproject.toml or setup.py, so it "
            "cannot be built; point the lock at a project"
        )
