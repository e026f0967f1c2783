"""The directory that holds the bundles of an app (`/opt/app/`): a lock so that only one
update or remove runs there at a time, the hidden work directories they leave when killed,
and the atomic switch of a `current` symlink."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from .errors import RefusedError, StubError

STAGING_PREFIX = ".pack-update-"
TRASH_PREFIX = ".pack-remove-"
_LINK_TMP = ".pack-tmp-"


@contextlib.contextmanager
def locked(parent: Path) -> Iterator[None]:
    """Hold an exclusive lock on `parent` itself (flock on the directory: nothing is left
    behind, and the kernel releases it when the process dies, however it dies)."""
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise StubError(f"cannot open {parent}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RefusedError(
                    f"another `self update` or `self remove` is running in {parent}; "
                    "wait for it to finish"
                ) from exc
            raise StubError(f"cannot lock {parent}: {exc.strerror}") from exc
        yield
    finally:
        os.close(fd)


def work_dir_name(prefix: str, app: str) -> str:
    return f"{prefix}{app}-{secrets.token_hex(4)}"


def remove_stale(parent: Path, app: str) -> list[Path]:
    """Remove what a killed update or remove of `app` left in `parent`. Call only while
    holding the lock: then no live process owns any of it."""
    removed: list[Path] = []
    prefixes = (STAGING_PREFIX + app + "-", TRASH_PREFIX + app + "-")
    for entry in sorted(parent.iterdir()):
        name = entry.name
        if name.startswith(prefixes) and entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
            removed.append(entry)
        elif _LINK_TMP in name and name.startswith(".") and entry.is_symlink():
            entry.unlink()
            removed.append(entry)
    return removed


def remove_tree(path: Path) -> None:
    """Remove a tree even where directories were made read-only (root is not needed for
    that: the owner may always chmod)."""

    def onerror(func: object, name: str, exc_info: object) -> None:
        path = Path(name)
        with contextlib.suppress(OSError):
            path.parent.chmod(0o755)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=onerror)
    else:
        shutil.rmtree(path, onerror=onerror)


def repoint(link: Path, dest: Path) -> None:
    """Make the symlink `link` point at `dest` in one rename, so that a process starting at
    any moment finds either the old target or the new one. A relative link stays relative."""
    absolute = link.readlink().is_absolute()
    target = str(dest) if absolute else os.path.relpath(dest, link.parent)
    tmp = link.parent / f".{link.name}{_LINK_TMP}{secrets.token_hex(4)}"
    tmp.symlink_to(target)
    try:
        tmp.replace(link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable across a power cut; some file systems refuse, which is fine.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
