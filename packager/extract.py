"""Safe extraction of tar archives that come in from outside (interpreters, updates): no entry
may land outside the target, links may not point outside it, no device files. Our own checks
come first; tarfile's `data` filter runs under them as a second line."""

from __future__ import annotations

import contextlib
import os
import posixpath
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import zstandard

from .errors import UnsafeArchiveError


@contextlib.contextmanager
def open_tar(archive: Path) -> Iterator[tarfile.TarFile]:
    """Open a .tar, .tar.gz/.tgz, .tar.xz or .tar.zst for sequential reading."""
    name = archive.name
    if name.endswith((".tar.zst", ".tzst")):
        with open(archive, "rb") as raw:
            reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                yield tar
    else:
        with tarfile.open(archive, mode="r|*") as tar:
            yield tar


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract `archive` into the existing directory `dest`, refusing any entry that would
    escape it. On refusal, raises UnsafeArchiveError naming the archive and the entry; the
    caller extracts into a staging directory and discards it (nothing is ever written
    outside `dest`, but what was extracted before the bad entry stays in it)."""
    root = Path(os.path.realpath(dest))
    links: list[str] = []
    try:
        with open_tar(archive) as tar:
            for member in tar:
                name = _check_member(archive, root, member)
                if member.issym():
                    links.append(name)
                # `data` refuses what we refuse too, and also drops setuid bits and
                # ownership; our checks do not depend on it (older 3.11/3.12 releases had
                # filter bypasses through symlink chains).
                tar.extract(member, root, filter="data")
    except tarfile.FilterError as exc:
        raise UnsafeArchiveError(
            f"{archive}: refusing unsafe entry {exc.tarinfo.name!r} ({exc}); "
            "the archive is corrupt or malicious"
        ) from exc
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError) as exc:
        raise UnsafeArchiveError(
            f"{archive}: not a readable tar archive ({exc}); re-download or rebuild it"
        ) from exc
    # A link that was harmless when written can point outside once later links exist
    # (`a -> .` then `b -> a/..`), so every link is checked again against the final tree.
    for name in links:
        if not _resolves_inside(root, name):
            raise _unsafe(archive, name, _ESCAPING_LINK)


_ESCAPING_LINK = "a symlink that resolves outside the target"


def _resolves_inside(root: Path, name: str) -> bool:
    """Whether `root/name`, with every symlink written so far followed, stays in `root`."""
    return Path(os.path.realpath(root / name)).is_relative_to(root)


def _unsafe(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive}: refusing entry {name!r}: {why}; the archive is corrupt or malicious"
    )


def _check_member(archive: Path, root: Path, member: tarfile.TarInfo) -> str:
    """Refuse `member` unless it is a plain file, directory or link that stays inside
    `root`; return its normalized name."""
    raw = member.name
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        kind = "a device or fifo" if (member.isdev()) else "an unsupported entry type"
        raise _unsafe(archive, raw, kind)
    name = _inside_name(archive, raw, raw)
    if name == ".":
        if member.isdir():
            return name
        raise _unsafe(archive, raw, "a non-directory at the archive root")
    _no_symlink_on_path(archive, root, raw, name)
    existing = root / name
    if existing.is_symlink() or (existing.exists() and not (member.isdir() and existing.is_dir())):
        # Writing over an existing entry (a file or link of this archive) could follow a
        # link written earlier; a genuine archive has each path once.
        raise _unsafe(archive, raw, "a second entry for the same path")
    if member.issym():
        if not member.linkname or posixpath.isabs(member.linkname):
            raise _unsafe(archive, raw, f"a symlink to the absolute path {member.linkname!r}")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        if target == ".." or target.startswith("../"):
            raise _unsafe(archive, raw, f"a symlink pointing outside ({member.linkname!r})")
        if not _resolves_inside(root, posixpath.join(posixpath.dirname(name), member.linkname)):
            raise _unsafe(archive, raw, _ESCAPING_LINK)
    elif member.islnk():
        target = _inside_name(archive, raw, member.linkname, what="a hard link to")
        _no_symlink_on_path(archive, root, raw, target)
        source = root / target
        if source.is_symlink() or not source.is_file():
            raise _unsafe(archive, raw, f"a hard link to {member.linkname!r}, not an earlier file")
    return name


def _inside_name(archive: Path, raw: str, path: str, what: str = "a path") -> str:
    """`path` as a normalized relative name, refusing absolute paths and `..` components."""
    if not path or "\0" in path:
        raise _unsafe(archive, raw, f"{what} that is empty or has a NUL byte")
    if posixpath.isabs(path) or path.startswith("\\") or (len(path) > 1 and path[1] == ":"):
        raise _unsafe(archive, raw, f"{what} absolute path {path!r}")
    if ".." in path.replace("\\", "/").split("/"):
        raise _unsafe(archive, raw, f"{what} path with '..' ({path!r})")
    return posixpath.normpath(path)


def _no_symlink_on_path(archive: Path, root: Path, raw: str, name: str) -> None:
    """Refuse writing through a directory that is a symlink: that is how an entry escapes
    even when every name looks relative."""
    current = root
    for part in name.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            raise _unsafe(archive, raw, f"a path through the symlink {part!r}")
