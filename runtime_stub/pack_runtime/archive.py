"""Reading an incoming bundle archive (.tar.gz, .tar.xz, .tar.zst) and extracting it safely:
no entry may land outside the target, links may not point outside it, no devices or fifos,
no setuid bits. Works on every Python the stub may run on (3.9 and later)."""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .errors import ChecksumError, StubError

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# tarfile.data_filter exists from 3.12 and in the security releases 3.9.17, 3.10.12, 3.11.4.
_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")


def compression_of(path: Path) -> str:
    """`gzip`, `xz`, `zstd` or `none`, from the first bytes: a URL's file name may not end
    with the right suffix."""
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return "none"


def _zstd_module() -> Any:
    # compression.zstd is in the standard library from 3.14; imported by name so that the
    # stub still type-checks and runs on older interpreters.
    try:
        return importlib.import_module("compression.zstd")
    except ImportError:
        return None


@contextlib.contextmanager
def open_tar(path: Path, environ: Mapping[str, str] | None = None) -> Iterator[tarfile.TarFile]:
    """Open `path` for one sequential pass of its members."""
    kind = compression_of(path)
    if kind != "zstd":
        with tarfile.open(path, mode="r|*") as tar:
            yield tar
        return
    zstd = _zstd_module()
    if zstd is not None:
        try:
            with zstd.ZstdFile(path) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
                yield tar
        except zstd.ZstdError as exc:
            raise ChecksumError(f"{path}: corrupt zstd data ({exc})") from exc
        return
    env = os.environ if environ is None else environ
    exe = shutil.which("zstd", path=env.get("PATH", os.defpath))
    if exe is None:
        version = "{}.{}".format(*sys.version_info[:2])
        raise StubError(
            f"{path} is zstd-compressed, but this Python ({version}) has no compression.zstd "
            "module and no `zstd` command is on PATH; install zstd, or update from the "
            ".tar.gz or .tar.xz archive"
        )
    with _zstd_pipe(exe, path) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        yield tar


@contextlib.contextmanager
def _zstd_pipe(exe: str, path: Path) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [exe, "-d", "-c", "-q", "--", str(path)], stdout=subprocess.PIPE, stderr=errors
        )
        assert proc.stdout is not None

        def drain_and_check(cause: BaseException | None) -> None:
            # Read to the end (tarfile stops at the end-of-archive blocks) so that zstd exits
            # on its own: its status then tells a corrupt stream from a bad tar.
            while proc.stdout is not None and proc.stdout.read(1 << 16):
                pass
            status = proc.wait()
            if status != 0:
                errors.seek(0)
                lines = errors.read().decode(errors="replace").strip().splitlines()
                raise ChecksumError(
                    f"{path}: zstd could not decompress it (exit {status}"
                    + (f": {lines[-1]}" if lines else "")
                    + "); the archive is corrupt"
                ) from cause

        try:
            yield proc.stdout
            drain_and_check(None)
        except (tarfile.TarError, EOFError) as exc:
            drain_and_check(exc)
            raise
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            proc.wait()


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_member(member: tarfile.TarInfo, dest: Path, archive: Path) -> None:
    """Refuse `member` unless extracting it keeps everything under `dest` (a real path).
    The checks read the tree as extracted so far, so a symlink extracted earlier cannot
    be used to reach outside."""

    def refuse(why: str) -> ChecksumError:
        return ChecksumError(
            f"{archive}: refusing entry {member.name!r} ({why}); the archive is corrupt or "
            "malicious"
        )

    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise refuse("not a file, directory or link")
    if member.name.startswith("/"):
        raise refuse("absolute path")
    parts = _parts(member.name)
    if ".." in parts:
        raise refuse("'..' in the path")
    if not parts:  # "." or "./": the target itself, skipped by the caller
        return
    parent = _real(dest.joinpath(*parts[:-1]))
    if not _inside(parent, dest):
        raise refuse("its directory is outside the target")
    # Links are bounded by the bundle's own top folder, not by the staging folder: a link to
    # `..` from the top folder would reach the install directory once moved there.
    bound = dest / parts[0]
    here = parent / parts[-1]
    # Writing over an existing entry would follow it if it is a symlink; a pack archive
    # names each path once (a directory may be repeated).
    if (here.exists() or here.is_symlink()) and not (
        member.isdir() and here.is_dir() and not here.is_symlink()
    ):
        raise refuse("it is already in the archive")
    if member.issym():
        link = member.linkname
        if link.startswith("/"):
            raise refuse(f"absolute link target {link!r}")
        link_parts = _parts(link)
        ups = 0
        while ups < len(link_parts) and link_parts[ups] == "..":
            ups += 1
        # Only leading '..': later ones would be resolved through symlinks by the kernel
        # but lexically here, and the two can disagree.
        if ".." in link_parts[ups:]:
            raise refuse(f"link target {link!r} has '..' after a name")
        if not _inside(_real(parent.joinpath(*link_parts)), bound):
            raise refuse(f"link target {link!r} is outside the bundle's top folder")
    if member.islnk():
        target_parts = _parts(member.linkname)
        if member.linkname.startswith("/") or ".." in target_parts:
            raise refuse(f"hard link to {member.linkname!r}")
        if not _inside(_real(dest.joinpath(*target_parts)), bound):
            raise refuse(f"hard link to {member.linkname!r} is outside the bundle's top folder")


def _sanitized(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """What the `data` filter does, for interpreters that lack it: no setuid/setgid/sticky,
    no group or other write, owner may read and write files, ownership not restored."""
    clean = copy.copy(member)
    if member.isreg() or member.islnk():
        mode = member.mode & 0o755
        if not mode & 0o100:
            mode &= ~0o111
        clean.mode = mode | 0o600
    clean.uid, clean.gid = os.getuid(), os.getgid()
    clean.uname = clean.gname = ""
    return clean


def safe_extract(archive: Path, dest: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Extract `archive` into the empty directory `dest` and return its single top-level
    directory (a pack archive holds exactly one: `<name>-<version>/`)."""
    real_dest = _real(dest)
    top: str | None = None
    try:
        with open_tar(archive, environ) as tar:
            for member in tar:
                _check_member(member, real_dest, archive)
                parts = _parts(member.name)
                if not parts:
                    continue
                if top is None:
                    top = parts[0]
                elif parts[0] != top:
                    raise ChecksumError(
                        f"{archive}: more than one top-level entry ({top!r}, {parts[0]!r}); "
                        "a pack archive holds one folder <name>-<version>/"
                    )
                if _HAS_DATA_FILTER:
                    tar.extract(member, real_dest, filter="data")
                else:
                    tar.extract(_sanitized(member), real_dest)
    except tarfile.TarError as exc:
        if _HAS_DATA_FILTER and isinstance(exc, tarfile.FilterError):
            raise ChecksumError(
                f"{archive}: refusing entry ({exc}); the archive is corrupt or malicious"
            ) from exc
        raise ChecksumError(f"{archive}: not a readable tar archive ({exc})") from exc
    except (EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise StubError(f"{archive}: extracting into {dest} failed: {exc}") from exc
        raise ChecksumError(f"{archive}: truncated or corrupt ({exc})") from exc
    folder = real_dest / top if top is not None else None
    if folder is None or folder.is_symlink() or not folder.is_dir():
        raise ChecksumError(f"{archive}: no top-level folder; not a pack archive")
    return folder
