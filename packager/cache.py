"""The pack cache: where verified downloads and provisioned environments live, the one way an
entry gets there (a file lock per entry, built in a temp dir, a `.provisioned` marker written
last, renamed into place), and its upkeep: listing, pruning by last use, cleaning."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._fs import remove_tree
from .errors import ConfigError

MARKER = ".provisioned"

# Top-level folders of the cache, one per kind of entry.
DOWNLOADS = "downloads"  # verified archives: downloads/<sha256>/<filename>
PYTHONS = "pythons"  # extracted interpreter trees: pythons/<archive sha256>/python/
WHEELS = "wheels"  # verified wheels: wheels/<sha256>/<filename>
ENVS = "envs"  # dependency environments: envs/<key>/{python -> runtime, venv/}
BUILD_ENVS = "build-envs"  # pinned build requirements installed: build-envs/<key>/venv/
# the build environment a project's wheel was last built in: build-env-hints/<key>/env
BUILD_ENV_HINTS = "build-env-hints"
INDEX = "index"  # files an index lists for a pinned requirement: index/<key>/files.json
EXPORTS = "exports"  # a uv.lock exported by uv, by its inputs: exports/<key>/pylock.toml
STUBS = "stubs"  # the runtime stub compiled by one interpreter: stubs/<key>/root/.pack/runtime/
FRAMES = "frames"  # a compressed bundle layer (the runtime) ready to concatenate: frames/<key>/
UV = "uv"  # uv's own cache (kept by uv; pruned and cleaned through uv)

KINDS = (
    DOWNLOADS, PYTHONS, WHEELS, ENVS, BUILD_ENVS, BUILD_ENV_HINTS, EXPORTS, STUBS, INDEX, FRAMES,
)  # fmt: skip


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


def _lock_path(entry: Path) -> Path:
    return entry.parent / f"{entry.name}.lock"


def _open_locked(entry: Path, *, wait: bool) -> int | None:
    """An fd of `<entry>.lock`, locked; None when `wait` is false and another process holds
    it. The lock file may be removed by `clean`/`prune` while it is held: a lock taken on a
    file that is no longer at that path is dropped and taken again on the new one."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    path = _lock_path(entry)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            current = path.stat()
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)


@contextlib.contextmanager
def entry_lock(entry: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<entry>.lock` (blocking): the one process that holds it
    may create or replace the entry. The kernel drops it when the holder dies."""
    fd = _open_locked(entry, wait=True)
    assert fd is not None
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def try_entry_lock(entry: Path) -> Iterator[bool]:
    """Like entry_lock, but never waits: yields False when another process holds it."""
    fd = _open_locked(entry, wait=False)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)


def _partials(entry: Path) -> list[Path]:
    return sorted(entry.parent.glob(f".{entry.name}.*.partial"))


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
        for stale in _partials(entry):
            remove_tree(stale)
        tmp = entry.parent / f".{entry.name}.{os.getpid()}.partial"
        tmp.mkdir(parents=True)
        try:
            build(tmp)
            (tmp / MARKER).write_text(json.dumps({"created": int(time.time())}) + "\n")
            tmp.replace(entry)
        except BaseException:
            remove_tree(tmp)
            raise
        return True


def touch_used(entry: Path) -> None:
    """Record that an entry was used now (for `pack cache prune`): the marker's mtime, or
    the entry folder's for entries that are one verified file (wheels)."""
    with contextlib.suppress(OSError):
        os.utime(entry / MARKER if (entry / MARKER).exists() else entry)


@dataclass(frozen=True)
class CacheEntry:
    kind: str
    key: str
    path: Path
    size: int  # bytes of its files, each hard-linked inode counted once
    last_used: float  # seconds since the epoch
    complete: bool  # marked provisioned (or, for one-file entries, holding its file)


def _tree_size(path: Path, seen: set[tuple[int, int]]) -> int:
    total = 0
    paths = [path] if not path.is_dir() or path.is_symlink() else []
    if not paths:
        for dirpath, dirnames, filenames in os.walk(path):
            paths += [Path(dirpath) / n for n in filenames + dirnames]
    for p in paths:
        try:
            st = p.lstat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def _complete(kind: str, entry: Path) -> bool:
    if (entry / MARKER).is_file():
        return True
    # A wheel entry is complete once its (atomically renamed) file is there.
    return (
        kind == WHEELS
        and entry.is_dir()
        and any(p.is_file() and not p.name.startswith(".") for p in entry.iterdir())
    )


def _last_used(entry: Path) -> float:
    for p in (entry / MARKER, entry):
        with contextlib.suppress(OSError):
            return p.stat().st_mtime
    return 0.0


def _keys(kind_dir: Path) -> list[str]:
    """Entry keys under one kind folder, including those only present as leftovers
    (`.<key>.<pid>.partial`); lock files are not entries."""
    keys: set[str] = set()
    if not kind_dir.is_dir():
        return []
    for child in kind_dir.iterdir():
        name = child.name
        if name.endswith(".lock"):
            continue
        if name.startswith("."):
            if name.endswith(".partial"):
                keys.add(name[1:].split(".", 1)[0])
            continue
        keys.add(name)
    return sorted(keys)


def list_entries(root: Path) -> list[CacheEntry]:
    """Every entry of the cache at `root` (uv's own cache as one entry of kind `uv`)."""
    found: list[CacheEntry] = []
    for kind in KINDS:
        for key in _keys(root / kind):
            entry = root / kind / key
            seen: set[tuple[int, int]] = set()
            size = sum(_tree_size(p, seen) for p in [entry, *_partials(entry)] if p.exists())
            found.append(
                CacheEntry(kind, key, entry, size, _last_used(entry), _complete(kind, entry))
            )
    uv = root / UV
    if uv.is_dir():
        found.append(CacheEntry(UV, "", uv, _tree_size(uv, set()), _last_used(uv), True))
    return found


def _remove_entry(entry: Path) -> None:
    """Remove an entry, its leftovers and its lock file; the caller holds the lock."""
    remove_tree(entry)
    for leftover in _partials(entry):
        remove_tree(leftover)
    _lock_path(entry).unlink(missing_ok=True)


def _remove_orphan_locks(root: Path) -> None:
    """Lock files whose entry is gone (its build failed, or an older pack left them), when no
    process holds them."""
    for kind in KINDS:
        kind_dir = root / kind
        if not kind_dir.is_dir():
            continue
        for lock in kind_dir.glob("*.lock"):
            entry = lock.with_name(lock.name.removesuffix(".lock"))
            if entry.exists() or _partials(entry):
                continue
            with try_entry_lock(entry) as held:
                if held and not entry.exists():
                    lock.unlink(missing_ok=True)


def prune(root: Path, *, older_than: float, now: float | None = None) -> list[CacheEntry]:
    """Remove entries last used more than `older_than` seconds ago and every leftover of a
    build that died; entries another process holds are skipped. Returns what was removed."""
    cutoff = (time.time() if now is None else now) - older_than
    removed: list[CacheEntry] = []
    for item in list_entries(root):
        if item.kind == UV or (item.complete and item.last_used >= cutoff):
            continue
        with try_entry_lock(item.path) as held:
            if held:
                _remove_entry(item.path)
                removed.append(item)
    _remove_orphan_locks(root)
    return removed


def clean(root: Path) -> list[CacheEntry]:
    """Remove every entry no other process holds (and uv's cache, through uv by the caller)."""
    removed: list[CacheEntry] = []
    for item in list_entries(root):
        if item.kind == UV:
            continue
        with try_entry_lock(item.path) as held:
            if held:
                _remove_entry(item.path)
                removed.append(item)
    _remove_orphan_locks(root)
    return removed


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `2w`, `45s` in seconds."""
    m = _AGE.match(text.lower())
    if not m:
        raise ConfigError(
            f"--older-than {text!r} is not a duration; write a number and a unit: 30d, 12h, "
            "90m, 2w or 45s"
        )
    return float(m[1]) * _UNITS[m[2]]
