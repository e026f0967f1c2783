"""The temporary names a build makes in its output directory (`.pack-build-*` work folders and
`.<archive>.*.partial` files) and the lock that marks each one live: its maker holds an flock
on it for as long as it exists. A later build removes those nobody holds, which a killed
build left behind; never anything else."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ._fs import remove_tree

WORK_PREFIX = ".pack-build-"
_STARTING = ".pack-starting-"  # made, not yet locked: never removed by a cleaner
_PARTIAL_ARCHIVE = re.compile(r"^\..+\.(tar\.zst|tar\.gz|tar\.xz)\.[^./]+\.partial$")


def hold(fd: int) -> None:
    """Lock `fd` (an open file or directory) for as long as it stays open."""
    fcntl.flock(fd, fcntl.LOCK_EX)


@contextlib.contextmanager
def work_dir(out_dir: Path) -> Iterator[Path]:
    """A new, locked `.pack-build-*` folder in `out_dir`, yielded for the caller to fill and
    remove. Created under a name no cleaner touches and renamed once locked."""
    starting = Path(tempfile.mkdtemp(prefix=_STARTING, dir=out_dir))
    fd = os.open(starting, os.O_RDONLY | os.O_DIRECTORY)
    try:
        hold(fd)
        work = out_dir / (WORK_PREFIX + starting.name.removeprefix(_STARTING))
        starting.rename(work)
        yield work
    finally:
        os.close(fd)


def _is_ours(path: Path) -> bool:
    name = path.name
    if name.startswith(WORK_PREFIX):
        return path.is_dir() and not path.is_symlink()
    return bool(_PARTIAL_ARCHIVE.match(name)) and path.is_file() and not path.is_symlink()


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove the work folders and partial archives in `out_dir` that no live build holds."""
    removed: list[Path] = []
    if not out_dir.is_dir():
        return removed
    for child in sorted(out_dir.iterdir()):
        if not _is_ours(child):
            continue
        try:
            fd = os.open(child, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a build is running with it
            if child.is_dir():
                remove_tree(child)
            else:
                child.unlink(missing_ok=True)
            removed.append(child)
        finally:
            os.close(fd)
    return removed
