"""File-system primitives every writer goes through: atomic writes (temp file beside the
target, then os.replace), hashing (`sha256_file`, owned by pack_runtime.sums and re-exported
here), and tree copies that can hard-link."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pack_runtime.sums import sha256_file as sha256_file

from ._proc import run
from .errors import PackError, disk_error


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode(), mode)


@contextlib.contextmanager
def staged_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside `dest`; on success it is renamed onto `dest`, on any
    failure it is removed, so `dest` is never seen half-written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Made under a `.new` name and locked before it is renamed to `.partial`: a later build
    # removes `.partial` files nobody holds (left by a killed build), never a live one.
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".new")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tmp = Path(name).with_suffix(".partial")
        Path(name).rename(tmp)
        try:
            yield tmp
            tmp.replace(dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside `dest`; on success it replaces `dest`
    (an existing `dest` is removed first), on failure it is removed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial"))
    try:
        yield tmp
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            remove_tree(dest)
        tmp.replace(dest)
    except BaseException:
        remove_tree(tmp)
        raise


def remove_tree(path: Path) -> None:
    """Remove a tree even where directories were made read-only."""

    def onerror(func: object, name: str, exc: object) -> None:
        p = Path(name)
        with contextlib.suppress(OSError):
            p.parent.chmod(0o755)
            p.chmod(0o755)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)

    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=onerror)


def copy_tree(src: Path, dst: Path, *, hardlink: bool = False) -> None:
    """Copy `src` to a new `dst`, keeping symlinks as symlinks and file modes and mtimes.
    With `hardlink`, regular files are hard-linked where the file system allows it (callers
    must then never write to them)."""
    if hardlink:
        Path(dst).absolute().parent.mkdir(parents=True, exist_ok=True)
        if not _cp_link_tree(src, dst):
            _link_tree(os.fspath(src), os.fspath(dst))
    else:
        shutil.copytree(src, dst, symlinks=True, copy_function=_copy_file)


_CP = shutil.which("cp", path="/usr/bin:/bin")


def _cp_link_tree(src: Path, dst: Path) -> bool:
    """GNU `cp -al`: the same tree as _link_tree, made by one C process in about half the
    time (a build stages thousands of cached files). False, and nothing left at `dst`, when
    it cannot (another file system, a cp without these options): _link_tree then does it."""
    if _CP is None:
        return False
    argv: list[str | Path] = [_CP, "-a", "-l", "--no-target-directory", "--", src, dst]
    if run(argv, what=f"linking {src} to {dst}", check_exit=False).returncode == 0:
        return True
    remove_tree(dst)
    return False


def _link_tree(src: str, dst: str) -> None:
    # What shutil.copytree(symlinks=True) does, with plain strings and os.scandir (hence the
    # os calls): a build links thousands of cached files, where copytree's per-entry
    # overhead costs more than the links themselves.
    os.mkdir(dst)  # noqa: PTH102
    with os.scandir(src) as it:
        entries = list(it)
    for entry in entries:
        target = f"{dst}/{entry.name}"
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)  # noqa: PTH115, PTH211
        elif entry.is_dir():
            _link_tree(entry.path, target)
        else:
            try:
                os.link(entry.path, target)
            except OSError:  # another file system, or too many links: a copy then
                _copy_file(entry.path, target)
    shutil.copystat(src, dst)


def _copy_file(src: str, dst: str) -> object:
    try:
        return shutil.copy2(src, dst)
    except OSError as exc:
        # Raised as a PackError so that copytree stops here instead of collecting one error
        # per remaining file (a full disk would otherwise be thousands).
        raise disk_error(exc, f"writing {dst}") or PackError(
            f"copying {src} to {dst} failed: {exc.strerror or exc}"
        ) from exc
