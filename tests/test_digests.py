"""Remembered digests: reused only for the same inode, size and mtime; a changed file, a
copy, or a damaged store means hashing again; files outside the remembered folders are always
hashed; the stores hold what the last build saw."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pack_runtime.filelist import scan_tree
from pack_runtime.sums import sha256_file
from packager._fs import copy_tree
from packager.digests import STORE, DigestMemo


def _tree(root: Path) -> Path:
    for rel in ("python/lib/os.py", "python/bin/python3", "venv/site/x.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"content of {rel}\n")
    return root


def _memo(bundle: Path, cache: Path) -> DigestMemo:
    return DigestMemo(
        {bundle / "python": cache / "rt" / STORE, bundle / "venv": cache / "env" / STORE}
    )


def test_digests_are_remembered_per_inode_and_mtime(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = _tree(cache / "layers")
    (cache / "rt").mkdir()
    (cache / "env").mkdir()
    first = tmp_path / "b1"
    copy_tree(source, first, hardlink=True)
    (first / "app.py").write_text("app\n")
    memo = _memo(first, cache)
    expected = scan_tree(first)
    assert scan_tree(first, digest=memo) == expected and memo.hits == 0
    memo.save()
    stored = json.loads((cache / "rt" / STORE).read_text())
    assert sorted(stored["files"].values()) == sorted(
        sha256_file(first / p) for p in ("python/lib/os.py", "python/bin/python3")
    )

    # The next build links the same inodes: every layer file is a hit, the app is hashed.
    second = tmp_path / "b2"
    copy_tree(source, second, hardlink=True)
    (second / "app.py").write_text("changed app\n")
    memo = _memo(second, cache)
    assert scan_tree(second, digest=memo) == scan_tree(second)
    assert memo.hits == 3

    # Changed in place (new mtime): hashed again, and the new digest is the right one.
    os_py = second / "python/lib/os.py"
    os_py.write_text("edited\n")
    os.utime(os_py, ns=(5, 5))
    memo = _memo(second, cache)
    entries = {e.path: e.sha256 for e in scan_tree(second, digest=memo)}
    assert entries["python/lib/os.py"] == sha256_file(os_py)
    assert memo.hits == 2

    # A copy (another inode) is hashed too.
    third = tmp_path / "b3"
    copy_tree(source, third)
    memo = _memo(third, cache)
    assert scan_tree(third, digest=memo) == scan_tree(third) and memo.hits == 0


def test_a_damaged_store_only_means_hashing(tmp_path: Path) -> None:
    bundle = _tree(tmp_path / "b")
    for store, text in (("rt", "{not json"), ("env", json.dumps({"version": 1, "files": [1]}))):
        (tmp_path / "cache" / store).mkdir(parents=True)
        (tmp_path / "cache" / store / STORE).write_text(text)
    memo = _memo(bundle, tmp_path / "cache")
    assert scan_tree(bundle, digest=memo) == scan_tree(bundle) and memo.hits == 0
    memo.save()
    assert json.loads((tmp_path / "cache" / "rt" / STORE).read_text())["version"] == 1
