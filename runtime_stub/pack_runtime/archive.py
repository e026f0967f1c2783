"""The one set of rules for tar archives that come in (interpreter archives, mirrors, bundle
updates): reading them with bounded cost, and extracting them safely. Everything lands inside
the archive's single top folder: no absolute or `..` paths, no writing through a symlink, links
that stay in the top folder, no devices or fifos, no setuid bits; declared sizes, header sizes,
entry count and disk space are checked before the data is decompressed. Used by the stub (every
Python from 3.9) and by pack itself (`packager.extract`, `packager.archive`)."""

from __future__ import annotations

import contextlib
import copy
import gzip
import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import DISK_ERRNOS, ChecksumError, DiskError, StubError

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# tarfile.data_filter exists from 3.12 and in the security releases 3.9.17, 3.10.12, 3.11.4.
_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
_CHUNK = 1 << 20


def compression_of(path: Path) -> str:
    """`gzip`, `xz`, `zstd` or `none`, from the first bytes: a URL's file name may not end
    with the right suffix."""
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return "none"


_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_REGULAR = (b"0", b"\0", b"7")
_NO_DATA = (
    b"1",
    b"2",
    b"3",
    b"4",
    b"5",
    b"6",
)  # links, devices, dirs, fifos: tarfile skips no data
_HEADERS = {b"x": "pax", b"g": "pax global", b"L": "GNU long name", b"K": "GNU long link"}


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Limits:
    """Bounds on what extracting (or reading) one archive may cost. The defaults are far above
    any real bundle or interpreter and far below what a crafted archive can ask for."""

    max_unpacked: int = 16 << 30  # sum of the file sizes the archive declares
    # ... and at most this many times the archive's own size (above a floor): real bundles
    # and interpreters compress 3 to 20 times, a decompression bomb thousands of times.
    max_ratio: int = 200
    ratio_floor: int = 256 << 20
    max_header: int = 64 << 10  # one pax or GNU long-name header (CVE-2024-6232 needs MBs)
    max_members: int = 1_000_000
    keep_free: int = 16 << 20  # extraction never leaves less than this free on the target disk
    max_trailing: int = 1 << 20  # bytes after the end-of-archive block (record padding)


def _octal_or_base256(field: bytes) -> int:
    """A numeric field of a tar header, as tarfile reads it; ValueError when malformed."""
    if field[:1] in (b"\x80", b"\xff"):
        if field[:1] == b"\xff":
            raise ValueError("negative number")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text or b"0", 8)


def _checksum_ok(block: bytes) -> bool:
    try:
        recorded = _octal_or_base256(block[148:156])
    except ValueError:
        return False
    rest = block[:148] + block[156:]
    unsigned = sum(rest) + 8 * 32
    signed = unsigned - 256 * sum(1 for b in rest if b >= 128)  # tarfile accepts both
    return recorded in (unsigned, signed)


class _Gate:
    """A read-only stream of tar bytes that checks every header before tarfile gets the bytes
    after it: declared sizes (a bomb is refused at its header, before its data is even
    decompressed), pax and GNU headers bounded and well-formed before CPython's parser sees
    them (CVE-2024-6232: a crafted pax header made it spin for minutes), member count, and
    what comes after the end of the archive. Its model of the stream follows tarfile's own."""

    def __init__(self, raw: IO[bytes], archive: Path, limits: Limits, free: int | None) -> None:
        self._raw = raw
        self._ratio_cap = max(limits.ratio_floor, archive.stat().st_size * limits.max_ratio)
        self._archive = archive
        self._limits = limits
        self._free = free  # bytes the extraction may write, None when not writing
        self._header = bytearray()
        self._skip = 0  # data and padding bytes before the next header
        self._collect = 0  # bytes of a pax header still to read into _pax
        self._pax = bytearray()
        self._pax_global = False
        self._pad_after_pax = 0
        self._next_size: int | None = None  # from a pax `size` record, for the next member
        self._ended = False
        self._trailing = 0
        self.total = 0
        self.members = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._raw.read(n if n is not None and n >= 0 else 1 << 20)
        self._feed(data)
        return data

    def readable(self) -> bool:
        return True

    def _refuse(self, why: str) -> ChecksumError:
        return ChecksumError(
            f"{self._archive}: refusing it: {why}; the archive is corrupt or malicious"
        )

    def _feed(self, data: bytes) -> None:
        view = memoryview(data)
        i, n = 0, len(view)
        while i < n:
            if self._ended:
                self._trailing += n - i
                if self._trailing > self._limits.max_trailing:
                    raise self._refuse(
                        f"more than {_size_text(self._limits.max_trailing)} of data after the "
                        "end of the archive"
                    )
                return
            if self._skip:
                k = min(self._skip, n - i)
                self._skip -= k
                i += k
            elif self._collect:
                k = min(self._collect, n - i)
                self._pax += view[i : i + k]
                self._collect -= k
                i += k
                if not self._collect:
                    self._pax_done()
            else:
                k = min(_BLOCK - len(self._header), n - i)
                self._header += view[i : i + k]
                i += k
                if len(self._header) == _BLOCK:
                    block = bytes(self._header)
                    self._header.clear()
                    self._on_header(block)

    def _on_header(self, block: bytes) -> None:
        if block == _ZERO_BLOCK or not _checksum_ok(block):
            # tarfile ends the archive at the first zero or invalid header (or fails on it
            # when it is the first): what follows is never parsed.
            self._ended = True
            return
        kind = block[156:157]
        try:
            size = _octal_or_base256(block[124:136])
        except ValueError:
            raise self._refuse("a header with a corrupt size field") from None
        limits = self._limits
        if kind in _HEADERS:
            if size > limits.max_header:
                raise self._refuse(
                    f"a {_HEADERS[kind]} header of {_size_text(size)}; pack accepts at most "
                    f"{_size_text(limits.max_header)}"
                )
            padded = -(-size // _BLOCK) * _BLOCK
            if kind in (b"x", b"g"):
                self._pax.clear()
                self._pax_global = kind == b"g"
                self._collect, self._pad_after_pax = size, padded - size
                if not size:
                    self._pax_done()
            else:
                self._skip = padded
            return
        self.members += 1
        if self.members > limits.max_members:
            raise self._refuse(f"more than {limits.max_members} entries")
        if kind in _REGULAR:
            if self._next_size is not None:
                size = self._next_size
            self.total += size
            if self.total > limits.max_unpacked:
                raise self._refuse(
                    f"it unpacks to more than {_size_text(limits.max_unpacked)}, the most pack "
                    "accepts"
                )
            if self.total > self._ratio_cap:
                raise self._refuse(
                    f"it unpacks to more than {_size_text(self._ratio_cap)}, over "
                    f"{limits.max_ratio} times its own size"
                )
            if self._free is not None and self.total > self._free:
                raise DiskError(
                    f"{self._archive}: unpacking it needs more than the "
                    f"{_size_text(self._free)} free on that disk (keeping "
                    f"{_size_text(limits.keep_free)} in reserve); free some space"
                )
            self._skip = -(-size // _BLOCK) * _BLOCK
        elif kind not in _NO_DATA:
            raise self._refuse(
                f"an entry of type {kind.decode('latin-1')!r}, which pack never writes"
            )
        self._next_size = None

    def _pax_done(self) -> None:
        data = bytes(self._pax)
        self._pax.clear()
        self._skip = self._pad_after_pax
        pos = 0
        while pos < len(data):
            space = data.find(b" ", pos, pos + 21)
            digits = data[pos:space] if space > pos else b""
            if not digits.isdigit():
                raise self._refuse("a malformed pax header")
            length = int(digits)
            record = data[space + 1 : pos + length]
            if pos + length > len(data) or not record.endswith(b"\n") or b"=" not in record:
                raise self._refuse("a malformed pax header")
            key, _, value = record[:-1].partition(b"=")
            if key.startswith(b"GNU.sparse"):
                raise self._refuse("a sparse file, which pack never writes")
            if key == b"size":
                if self._pax_global or not value.isdigit():
                    raise self._refuse("a pax size record pack never writes")
                self._next_size = int(value)
            pos += length


def _zstd_module() -> Any:
    """compression.zstd (standard library from 3.14), else the zstandard package (pack's own
    environment has it; bundles do not), else None. Imported by name so that the stub still
    type-checks and runs on older interpreters."""
    for name in ("compression.zstd", "zstandard"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@contextlib.contextmanager
def _decompressed(path: Path, environ: Mapping[str, str] | None) -> Iterator[IO[bytes]]:
    kind = compression_of(path)
    if kind == "gzip":
        with gzip.open(path, "rb") as f:
            yield f  # type: ignore[misc]  # a GzipFile reads bytes like any IO[bytes]
        return
    if kind == "xz":
        try:
            import lzma
        except ImportError:  # an interpreter built without it
            raise StubError(
                f"{path} is xz-compressed, but this Python has no lzma module; use the "
                ".tar.gz archive"
            ) from None
        with lzma.open(path, "rb") as f:
            yield f
        return
    if kind == "none":
        with open(path, "rb") as f:
            yield f
        return
    zstd = _zstd_module()
    if zstd is not None:
        if zstd.__name__ == "zstandard":
            with (
                open(path, "rb") as raw,
                # Every frame: a pack archive is several concatenated zstd frames (its
                # runtime and locked packages are compressed apart and cached).
                zstd.ZstdDecompressor().stream_reader(
                    raw, read_size=_CHUNK, read_across_frames=True
                ) as reader,
            ):
                yield reader
        else:
            with zstd.ZstdFile(path) as reader:
                yield reader
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
    with _zstd_pipe(exe, path) as stream:
        yield stream


def _corrupt_stream_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [tarfile.TarError, EOFError, zlib.error]
    with contextlib.suppress(ImportError):
        import lzma

        errors.append(lzma.LZMAError)
    zstd = _zstd_module()
    if zstd is not None:
        errors.append(zstd.ZstdError)
    return tuple(errors)


@contextlib.contextmanager
def open_tar(
    path: Path,
    environ: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    *,
    free: int | None = None,
) -> Iterator[tarfile.TarFile]:
    """Open `path` for one sequential pass of its members, every header checked by the gate
    first. `free`: bytes an extraction may write (None when only reading). Unreadable or
    corrupt data is a ChecksumError naming `path`."""
    try:
        with _decompressed(path, environ) as raw:
            gate = _Gate(raw, path, limits or Limits(), free)
            with tarfile.open(fileobj=gate, mode="r|", encoding="utf-8") as tar:  # type: ignore[call-overload]
                yield tar
            # Read to the end so that a decompressor's own check (zstd's exit status, gzip's
            # CRC) runs; the gate bounds what may follow the archive.
            while gate.read(_CHUNK):
                pass
    except (ChecksumError, StubError):
        raise
    except _corrupt_stream_errors() as exc:
        if _HAS_DATA_FILTER and isinstance(exc, tarfile.FilterError):
            raise ChecksumError(
                f"{path}: refusing entry {exc.tarinfo.name!r} ({exc}); the archive is corrupt "
                "or malicious"
            ) from exc
        raise ChecksumError(
            f"{path}: not a readable tar archive ({exc}); the archive is corrupt"
        ) from exc
    except OSError as exc:
        if exc.errno is None:  # gzip's "not a gzipped file" and friends
            raise ChecksumError(
                f"{path}: not a readable tar archive ({exc}); the archive is corrupt"
            ) from exc
        raise


@contextlib.contextmanager
def _zstd_pipe(exe: str, path: Path) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [exe, "-d", "-c", "-q", "--", str(path)], stdout=subprocess.PIPE, stderr=errors
        )
        assert proc.stdout is not None

        def check(cause: BaseException | None) -> None:
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
            # open_tar read to the end, so zstd exits on its own: its status then tells a
            # corrupt stream from a bad tar.
            check(None)
        except (tarfile.TarError, EOFError) as exc:
            proc.kill()
            check(exc)
            raise
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            proc.wait()


def _refusal(archive: Path, name: str, why: str) -> ChecksumError:
    return ChecksumError(
        f"{archive}: refusing entry {name!r} ({why}); the archive is corrupt or malicious"
    )


def _relative(path: str) -> tuple[list[str], str]:
    """`path` as relative parts, or why it cannot be one: empty, NUL byte, absolute, `..`."""
    if not path or "\0" in path:
        return [], "an empty name or a NUL byte"
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return [], "absolute path"
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts or ".." in path.split("\\"):
        return [], "'..' in the path"
    return parts, ""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolves_inside(path: Path, root: Path) -> bool:
    return _inside(Path(os.path.realpath(path)), root)


@dataclass
class _Extraction:
    archive: Path
    dest: Path  # real path of the (empty) target directory
    top: str | None = None

    def check(self, member: tarfile.TarInfo) -> list[str]:
        """Refuse `member` unless writing it keeps everything inside the top folder; return
        its parts. The checks read the tree as extracted so far."""
        archive, raw = self.archive, member.name
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            if member.isdev():  # devices and fifos
                raise _refusal(archive, raw, "a device or fifo")
            raise _refusal(archive, raw, "not a file, directory or link")
        parts, why = _relative(raw)
        if why:
            raise _refusal(archive, raw, why)
        if not parts:
            if not member.isdir():
                raise _refusal(archive, raw, "a non-directory at the archive root")
            return parts
        if self.top is None:
            self.top = parts[0]
        elif parts[0] != self.top:
            raise ChecksumError(
                f"{archive}: more than one top-level entry ({self.top!r}, {parts[0]!r}); "
                "a pack archive holds one folder"
            )
        if len(parts) == 1 and not member.isdir():
            raise _refusal(archive, raw, "the top-level entry is not a folder")
        self._no_symlink_on_path(raw, parts)
        here = self.dest.joinpath(*parts)
        if here.is_symlink() or (here.exists() and not (member.isdir() and here.is_dir())):
            # Writing over an entry could follow a link written earlier; a genuine archive
            # names each path once (a directory may be repeated).
            raise _refusal(archive, raw, "it is already in the archive")
        bound = self.dest / self.top
        if member.issym():
            link = member.linkname
            if not link or "\0" in link:
                raise _refusal(archive, raw, "an empty link target or a NUL byte")
            if link.startswith("/"):
                raise _refusal(archive, raw, f"absolute link target {link!r}")
            link_parts = [p for p in link.split("/") if p not in ("", ".")]
            ups = 0
            while ups < len(link_parts) and link_parts[ups] == "..":
                ups += 1
            # Only leading '..': later ones are resolved through symlinks by the kernel but
            # lexically by a reader, and the two can disagree.
            if ".." in link_parts[ups:]:
                raise _refusal(archive, raw, f"link target {link!r} has '..' after a name")
            # Bounded by the top folder, not the staging folder: `parent -> ..` in the top
            # folder would reach the install directory once the bundle is moved there.
            if ups > len(parts) - 2 or not _resolves_inside(
                here.parent.joinpath(*link_parts), bound
            ):
                raise _refusal(
                    archive, raw, f"link target {link!r} is outside the bundle's top folder"
                )
        elif member.islnk():
            target, why = _relative(member.linkname)
            if why or not target or target[0] != self.top:
                raise _refusal(archive, raw, f"hard link to {member.linkname!r}")
            self._no_symlink_on_path(raw, target)
            source = self.dest.joinpath(*target)
            if source.is_symlink() or not source.is_file():
                raise _refusal(
                    archive, raw, f"hard link to {member.linkname!r}, not an earlier file"
                )
        return parts

    def _no_symlink_on_path(self, raw: str, parts: list[str]) -> None:
        """Refuse writing through a directory that is a symlink: that is how an entry escapes
        even when every name looks relative."""
        current = self.dest
        for part in parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise _refusal(self.archive, raw, f"a path through the symlink {part!r}")


def _sanitized(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """What the `data` filter does, for interpreters that lack it: no setuid/setgid/sticky,
    no group or other write, owner may read and write files, ownership not restored."""
    clean = copy.copy(member)
    if member.isreg() or member.islnk():
        mode = member.mode & 0o755
        if not mode & 0o100:
            mode &= ~0o111
        clean.mode = mode | 0o600
    elif member.isdir():
        clean.mode = (member.mode & 0o755) | 0o700
    clean.uid, clean.gid = os.getuid(), os.getgid()
    clean.uname = clean.gname = ""
    return clean


def free_space(path: Path, limits: Limits) -> int:
    st = os.statvfs(path)
    return max(0, st.f_bavail * st.f_frsize - limits.keep_free)


def safe_extract(
    archive: Path,
    dest: Path,
    environ: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Path:
    """Extract `archive` into the empty directory `dest` and return its single top-level
    folder (`<name>-<version>/` for a bundle, `python/` for an interpreter). What was
    extracted before a refusal stays in `dest`: callers extract into a staging directory and
    remove it."""
    limits = limits or Limits()
    real_dest = Path(os.path.realpath(dest))
    run = _Extraction(archive, real_dest)
    links: list[tarfile.TarInfo] = []
    try:
        with open_tar(archive, environ, limits, free=free_space(real_dest, limits)) as tar:
            for member in tar:
                if not run.check(member):
                    continue
                if member.issym():
                    links.append(member)
                if _HAS_DATA_FILTER:
                    tar.extract(member, real_dest, filter="data")
                else:
                    tar.extract(_sanitized(member), real_dest)
    except OSError as exc:
        raise _write_error(archive, dest, exc) from exc
    # A link that was harmless when written can point outside once later links exist
    # (`a -> .` then `b -> a/..`), so every link is checked again against the final tree.
    if run.top is not None:
        for link in links:
            if not _resolves_inside(real_dest / link.name, real_dest / run.top):
                raise _refusal(archive, link.name, "a symlink that resolves outside the top folder")
    folder = real_dest / run.top if run.top is not None else None
    if folder is None or folder.is_symlink() or not folder.is_dir():
        raise ChecksumError(f"{archive}: no top-level folder; not a pack archive")
    return folder


def _write_error(archive: Path, dest: Path, exc: OSError) -> StubError:
    if exc.errno in DISK_ERRNOS:
        return DiskError(f"{archive}: extracting into {dest} failed: {exc.strerror}")
    return StubError(f"{archive}: extracting into {dest} failed: {exc}")
