"""Remembered sha256 digests of the files a build hard-links from the cache, so `.pack/files`
does not re-read the whole runtime and dependency layer at every build. A digest is reused
only for the same inode with the same size and modification time; each cache entry keeps
the digests of its own files (`digests.json`), rewritten with what the last build saw."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from pack_runtime.sums import sha256_file

from ._fs import atomic_write_text

_VERSION = 1
STORE = "digests.json"


def _key(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _load(store: Path) -> dict[str, str]:
    # A cache file: anything unreadable or malformed only means hashing again.
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(store.read_text())
        if isinstance(data, dict) and data.get("version") == _VERSION:
            files = data.get("files")
            if isinstance(files, dict):
                return {
                    k: v
                    for k, v in files.items()
                    if isinstance(k, str) and isinstance(v, str) and len(v) == 64
                }
    return {}


class DigestMemo:
    """A `digest(path, stat)` for `write_files_list`: files under one of the `folders`
    (bundle folder -> store file in the cache entry it is linked from) are looked up and
    remembered; every other file is hashed."""

    def __init__(self, folders: Mapping[Path, Path]) -> None:
        # Bundle folders as strings ending in "/": matched by prefix, once per file.
        self._folders = {
            os.fspath(folder).rstrip("/") + "/": Path(store) for folder, store in folders.items()
        }
        self._known = {store: _load(store) for store in self._folders.values()}
        self._seen: dict[Path, dict[str, str]] = {store: {} for store in self._folders.values()}
        self.hits = 0

    def _store(self, path: str) -> Path | None:
        for folder, store in self._folders.items():
            if path.startswith(folder):
                return store
        return None

    def __call__(self, path: str, st: os.stat_result) -> str:
        store = self._store(path)
        if store is None:
            return sha256_file(path)
        key = _key(st)
        digest = self._known[store].get(key)
        if digest is None:
            digest = sha256_file(path)
        else:
            self.hits += 1
        self._seen[store][key] = digest
        return digest

    def save(self) -> None:
        """Write each store with the digests this build saw (best effort: a read-only or
        full cache only costs hashing next time)."""
        for store, files in self._seen.items():
            if files == self._known[store]:
                continue
            with contextlib.suppress(OSError):
                text = json.dumps({"version": _VERSION, "files": files}, sort_keys=True)
                atomic_write_text(store, text + "\n")
