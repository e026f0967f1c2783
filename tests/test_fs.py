"""File-system primitives: the hard-linking tree copy a build stages its cached layers with."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from packager import _fs
from packager._fs import copy_tree


def _tree(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"#!/bin/sh\n")
    (root / "bin" / "tool").chmod(0o755)
    (root / "bin" / "alias").symlink_to("tool")
    (root / "lib" / "empty").mkdir(parents=True)
    (root / "lib" / "empty").chmod(0o700)
    (root / "lib" / "data.txt").write_text("data")
    os.utime(root / "lib", ns=(1_000_000_000, 1_700_000_000_123_456_789))


def _listing(root: Path) -> list[tuple[str, str, int, int]]:
    out = []
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        mtime = st.st_mtime_ns if kind == "dir" else 0
        out.append((path.relative_to(root).as_posix(), kind, st.st_mode, mtime))
    return out


def test_hardlinked_copy_keeps_links_modes_and_folder_times(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "new" / "dst"
    _tree(src)
    copy_tree(src, dst, hardlink=True)
    assert _listing(dst) == _listing(src)
    assert (dst / "bin" / "alias").readlink() == Path("tool")
    assert (dst / "lib" / "data.txt").stat().st_ino == (src / "lib" / "data.txt").stat().st_ino


def test_plain_copy_gives_the_same_tree_with_files_of_its_own(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src)
    copy_tree(src, dst)
    assert _listing(dst) == _listing(src)
    assert (dst / "lib" / "data.txt").stat().st_ino != (src / "lib" / "data.txt").stat().st_ino


def test_hardlinked_copy_across_file_systems_copies(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        # Here and in CI /dev/shm is a tmpfs and the temp folder is on disk, so this runs; a
        # machine whose temp folder is itself on /dev/shm has no second file system to offer.
        pytest.skip("needs /dev/shm on another file system than the test's temp folder")
    src = tmp_path / "src"
    _tree(src)
    with tempfile.TemporaryDirectory(dir=shm) as other:
        dst = Path(other) / "dst"
        copy_tree(src, dst, hardlink=True)
        assert _listing(dst) == _listing(src)
        assert (dst / "lib" / "data.txt").read_text() == "data"


def test_without_gnu_cp_the_tree_is_linked_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cp -al` stages the layers where there is a GNU cp; the Python walk, where there is
    not, makes the same tree."""
    src = tmp_path / "src"
    _tree(src)
    copy_tree(src, tmp_path / "by-cp", hardlink=True)
    monkeypatch.setattr(_fs, "_CP", None)
    copy_tree(src, tmp_path / "by-python", hardlink=True)
    assert _listing(tmp_path / "by-python") == _listing(tmp_path / "by-cp") == _listing(src)
    for made in ("by-cp", "by-python"):
        data = tmp_path / made / "lib" / "data.txt"
        assert data.stat().st_ino == (src / "lib" / "data.txt").stat().st_ino


def test_where_cp_cannot_it_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    """(Across file systems cp stops after making folders: the test above sees the Python
    walk succeed where it failed.)"""
    assert _fs._cp_link_tree(tmp_path / "missing", tmp_path / "dst") is False
    assert not (tmp_path / "dst").exists()
