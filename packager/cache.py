"""The pack cache: where verified downloads and provisioned environments live, and the one
way an entry gets there (a file lock per entry, built in a temp dir, a `.provisioned` marker
written last, renamed into place), so concurrent builds provision once and a crash leaves
nothing a later build would trust."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._fs import remove_tree
from .errors import PackError

MARKER = ".provisioned"

# Top-level folders of the cache, one per kind of entry.
DOWNLOADS = "downloads"  # verified archives: downloads/<sha256>/<filename>
PYTHONS = "pythons"  # extracted interpreter trees: pythons/<archive sha256>/python/
WHEELS = "wheels"  # verified wheels: wheels/<sha256>/<filename>
ENVS = "envs"  # dependency environments: envs/<key>/{python -> runtime, venv/}
UV = "uv"  # uv's own cache


@dataclass(frozen=True)
class Cache:
    root: Path

    def entry(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def is_provisioned(self, entry: Path) -> bool:
        return (entry / MARKER).is_file()


def cache_key(parts: dict[str, object]) -> str:
    """A stable short key hashed from everything that determines an entry."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


@contextlib.contextmanager
def entry_lock(entry: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<entry>.lock` (blocking): the one process that holds it
    may create or replace the entry."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    lock_path = entry.parent / f"{entry.name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def provision(entry: Path, build: Callable[[Path], None]) -> bool:
    """Make sure `entry` exists and is complete. If it is already provisioned, only mark it
    used. Otherwise call `build(tmp_dir)` to fill a fresh directory beside it, write the
    marker last and rename it into place. A leftover entry without a marker (a killed build)
    is removed first. Returns True when this call provisioned the entry."""
    with entry_lock(entry):
        if (entry / MARKER).is_file():
            touch_used(entry)
            return False
        if entry.exists() or entry.is_symlink():
            remove_tree(entry)
        for stale in entry.parent.glob(f".{entry.name}.*.partial"):
            remove_tree(stale)
        tmp = entry.parent / f".{entry.name}.{os.getpid()}.partial"
        remove_tree(tmp)
        tmp.mkdir(parents=True)
        try:
            build(tmp)
            (tmp / MARKER).write_text(json.dumps({"created": int(time.time())}) + "\n")
            os.replace(tmp, entry)
        except BaseException:
            remove_tree(tmp)
            raise
        return True


def touch_used(entry: Path) -> None:
    """Record that an entry was used now (for `pack cache prune`): the marker's mtime."""
    with contextlib.suppress(OSError):
        os.utime(entry / MARKER)


def require_provisioned(entry: Path, what: str) -> Path:
    if not (entry / MARKER).is_file():
        raise PackError(f"{what} is not in the cache at {entry}")
    return entry
