"""Writing and reading pack archives: a deterministic tar of the bundle (sorted entries, fixed
mtime, uid/gid 0, normalised modes) compressed with zstandard, gzip or xz, or a plain
directory; and a streaming reader of an archive or directory that `inspect` and `verify` share.

The tar stream is compressed in segments, each its own zstd frame, gzip member or xz stream
(all three formats define a concatenation of those as one valid file). Folders that come from
the cache (the runtime; the locked packages in site-packages, in runs between the app's own
entries) are segments of their own, compressed once and kept in the cache; later builds
concatenate them. Where the segments start depends only on the tree, never on what the cache
holds, so the archive bytes are the same with a cold cache, a warm one or none."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, cast

import zstandard

from pack_runtime.archive import open_tar
from pack_runtime.errors import ChecksumError as RuntimeChecksumError
from pack_runtime.errors import StubError

from . import cache as cache_mod
from ._fs import atomic_write_text, remove_tree, staged_dir, staged_file
from .config import FORMATS as FORMATS
from .config import Format as Format
from .errors import BuildError, ChecksumError, ConfigError, UnsafeArchiveError, disk_error

# 1980-01-01T00:00:00Z: the earliest time a zip can hold, so every format we may ever write can
# carry it, and clearly "not a real date" to anyone reading a listing.
DEFAULT_MTIME = 315532800

# Each format's (lowest, highest, default) level. Measured on a 117 MiB bundle (CPython 3.11
# and a venv, 4994 files) on 2 busy cores: zstd 10 gives 34.1 MB in ~9 s, zstd 19 30.1 MB in
# ~190 s, zstd 3 37.7 MB in ~4 s; gzip 9 39.5 MB in ~35 s; xz 6 28.5 MB in ~100 s.
_LEVELS: dict[str, tuple[int, int, int]] = {
    "tar.zst": (1, 22, 10),
    "tar.gz": (1, 9, 9),
    "tar.xz": (0, 9, 6),
}

# A 128 MiB window is the largest a stock `zstd -d` (and so `tar -xf`) accepts without
# `--long`; long-distance matching then finds repeats across the whole window. Smaller inputs
# get a window just large enough, since a decoder reserves the whole window up front.
_ZSTD_MAX_WINDOW_LOG = 27
_ZSTD_MIN_WINDOW_LOG = 20
# Per-entry tar overhead at most: header, a PAX header with its record, padding.
_TAR_ENTRY_OVERHEAD = 4 * 512
# Jobs of a fixed size keep the output independent of the thread count (libzstd cuts the input
# into jobs by size, never by worker count) while leaving work for several threads; with long
# matching the default job size would be 4 x the window, one job for most bundles.
_ZSTD_JOB_SIZE = 32 << 20
_CHUNK = 1 << 20
# Upper bound of a ustar mtime field (11 octal digits); beyond it tarfile would add pax records.
_MAX_MTIME = 8**11 - 1
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE
# Bump when the bytes of a segment would change for the same inputs (tar rules, parameters).
_SEGMENT_LAYOUT = 1


def default_level(fmt: Format) -> int | None:
    """The compression level a format gets when none is asked for (None for "dir")."""
    return _LEVELS[fmt][2] if fmt in _LEVELS else None


@dataclass(frozen=True)
class ArchiveOptions:
    format: Format = "tar.zst"
    level: int | None = None
    threads: int = 0
    mtime: int = DEFAULT_MTIME


@dataclass(frozen=True)
class SeparateLayer:
    """A folder of the bundle (POSIX, relative to its root) compressed in segments of its own
    so that their compressed bytes can be reused: `identity` names where its files come from
    (the runtime: the interpreter archive's sha256), `cache_dir` is the pack cache that keeps
    the compressed segments (None: compress them, keep nothing). With `source` (the folder
    of the cache it was copied from), only the folder's children that are still exactly as in
    `source` (names, kinds, modes, sizes, mtimes, link targets) are separate, in runs; what
    was added or changed is compressed with the rest. The archive bytes never depend on
    `cache_dir`."""

    folder: str
    identity: str
    cache_dir: Path | None = None
    source: Path | None = None


@dataclass(frozen=True)
class WrittenArchive:
    path: Path
    sha256: str
    size: int
    format: Format


def mtime_from_env(environ: Mapping[str, str]) -> int:
    """The archive timestamp: `SOURCE_DATE_EPOCH` when set (reproducible-builds.org), else
    DEFAULT_MTIME. An empty value counts as unset; anything but whole seconds is an error."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return DEFAULT_MTIME
    if not raw.isascii() or not raw.isdigit() or int(raw) > _MAX_MTIME:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970 "
            f"(0 to {_MAX_MTIME}); set it to e.g. $(git log -1 --format=%ct) or unset it"
        )
    return int(raw)


def format_of(path: Path) -> Format | None:
    """The archive format a file name implies, or None for anything else."""
    for fmt in ("tar.zst", "tar.gz", "tar.xz"):
        if path.name.endswith("." + fmt):
            return fmt
    return None


def write_archive(
    bundle_dir: Path,
    dest: Path,
    *,
    top: str,
    options: ArchiveOptions,
    layers: Sequence[SeparateLayer] = (),
) -> WrittenArchive:
    """Archive the bundle tree `bundle_dir` as `dest`, every entry under the folder `top`
    (for "dir", `dest` itself is the bundle root). The same tree and options give the same
    bytes on any machine, whatever the umask, time zone, locale, paths, thread count or cache
    state. `dest` appears complete or not at all; archives get a `<dest>.sha256` beside them.
    `layers` are compressed on their own (see the module docstring)."""
    _check_options(options, top)
    for layer in layers:
        parts = layer.folder.split("/")
        if not layer.folder or any(p in ("", ".", "..") for p in parts):
            raise ConfigError(f"separate layer {layer.folder!r} must be a relative folder path")
    entries = _walk(bundle_dir)
    if options.format == "dir":
        return _write_dir(bundle_dir, entries, dest, options)

    hasher = _HashingWriter()
    sidecar = _sha256_path(dest)
    try:
        with staged_file(dest) as tmp:
            with open(tmp, "wb") as raw:
                hasher.raw = raw
                _write_tar(bundle_dir, entries, hasher, top, options, layers)
                raw.flush()
                os.fsync(raw.fileno())
            tmp.chmod(0o644)
            # A stale checksum must not sit beside the new archive, even after a crash.
            sidecar.unlink(missing_ok=True)
        digest = hasher.hash.hexdigest()
        try:
            atomic_write_text(sidecar, f"{digest}  {dest.name}\n")
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
    except (OSError, zstandard.ZstdError, lzma.LZMAError, tarfile.TarError) as exc:
        if isinstance(exc, OSError) and (disk := disk_error(exc, f"writing {dest}")):
            raise disk from exc
        raise BuildError(
            f"writing {dest} failed: {exc}; check the free space and permissions there"
        ) from exc
    return WrittenArchive(dest, digest, hasher.size, options.format)


def _write_tar(
    root: Path,
    entries: list[_Entry],
    out: _HashingWriter,
    top: str,
    options: ArchiveOptions,
    layers: Sequence[SeparateLayer],
) -> None:
    """The tar stream in segments (see _plan_segments); the last one ends with the
    end-of-archive blocks."""
    plan = _plan_segments(root, [_Entry("", "dir", 0o755), *entries], layers)
    offset = 0
    for i, (chunk, layer) in enumerate(plan):
        last = i == len(plan) - 1
        if layer is None:
            offset += _compress(out, options, _tar_chunks(root, top, chunk, options, offset, last))
        else:
            offset += _layer_segment(root, chunk, out, top, options, layer, offset)


def _plan_segments(
    root: Path, entries: list[_Entry], layers: Sequence[SeparateLayer]
) -> list[tuple[list[_Entry], SeparateLayer | None]]:
    """Cut the entries into segments: runs of a layer's entries (segment with that layer) and
    everything between them (segment without). Decided by the tree alone. A layer always
    leaves out its own folder entry, and the last segment is never a layer's (it carries the
    end of the archive)."""
    owner: list[SeparateLayer | None] = [None] * len(entries)
    for layer in layers:
        prefix = layer.folder + "/"
        inside = [i for i, e in enumerate(entries) if e.rel.startswith(prefix)]
        if not inside:
            continue
        if layer.source is None:
            for i in inside:
                owner[i] = layer
            continue
        same = _unchanged_children(root, entries, inside, layer)
        for i in inside:
            child = entries[i].rel[len(prefix) :].split("/", 1)[0]
            if child in same:
                owner[i] = layer
    plan: list[tuple[list[_Entry], SeparateLayer | None]] = []
    for entry, owned_by in zip(entries, owner, strict=True):
        if plan and plan[-1][1] is owned_by:
            plan[-1][0].append(entry)
        else:
            plan.append(([entry], owned_by))
    if plan[-1][1] is not None:
        plan.append(([], None))
    return plan


def _unchanged_children(
    root: Path, entries: list[_Entry], inside: list[int], layer: SeparateLayer
) -> set[str]:
    """Names of the children of the layer's folder whose whole subtree is as in its source."""
    assert layer.source is not None
    prefix = layer.folder + "/"

    def describe(e: _Entry, rel: str) -> tuple[object, ...]:
        return (rel, e.kind, e.mode, e.size, e.target, e.mtime_ns)

    here: dict[str, list[tuple[object, ...]]] = {}
    for i in inside:
        rel = entries[i].rel[len(prefix) :]
        here.setdefault(rel.split("/", 1)[0], []).append(describe(entries[i], rel))
    there: dict[str, list[tuple[object, ...]]] = {}
    try:
        for e in _walk(layer.source):
            there.setdefault(e.rel.split("/", 1)[0], []).append(describe(e, e.rel))
    except (BuildError, OSError):
        # A source that cannot be read or holds what a bundle may not: nothing is separate
        # (the bundle's own walk decides what is refused).
        return set()
    return {name for name, listing in here.items() if there.get(name) == listing}


class _Segment:
    """One segment's raw tar bytes as chunks, with an upper bound of their size (for the zstd
    window); `size` is the exact count once consumed."""

    def __init__(self, chunks: Iterator[bytes], bound: int) -> None:
        self.chunks = chunks
        self.bound = bound
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            yield chunk


def _tar_chunks(
    root: Path,
    top: str,
    entries: list[_Entry],
    options: ArchiveOptions,
    offset: int,
    end: bool = False,
) -> _Segment:
    """Tar headers and data of `entries` as tarfile's PAX writer lays them out; with `end`,
    the two zero blocks that end an archive and the padding to a whole record, which depend
    on where the stream is (`offset`: raw bytes written before this segment)."""

    def chunks() -> Iterator[bytes]:
        written = offset
        for entry in entries:
            name = f"{top}/{entry.rel}" if entry.rel else top
            info = _tarinfo(name, entry.kind, entry.size, entry.target, options.mtime)
            if entry.rel:
                info.mode = entry.mode
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield header
            written += len(header)
            if entry.kind == "file":
                written += yield from _file_data(root / entry.rel, entry.size)
        if end:
            trailer = 2 * _BLOCK
            trailer += -(written + trailer) % _RECORD
            yield bytes(trailer)

    return _Segment(chunks(), _tar_size_bound(entries))


def _file_data(path: Path, size: int) -> Generator[bytes, None, int]:
    """A file's bytes padded to whole blocks; refuses a file that changed size meanwhile
    (its header is already written)."""
    done = 0
    with open(path, "rb") as f:
        while done < size and (chunk := f.read(min(_CHUNK, size - done))):
            done += len(chunk)
            yield chunk
    if done != size:
        raise BuildError(f"{path} changed while it was archived ({size} bytes, then {done})")
    pad = -size % _BLOCK
    if pad:
        yield bytes(pad)
    return size + pad


def _compress(out: _HashingWriter, options: ArchiveOptions, segment: _Segment) -> int:
    """Compress one segment as a complete frame/member/stream onto `out`; returns its raw
    size."""
    buf = bytearray()
    with _compressor(out, options, segment.bound) as stream:
        for chunk in segment:
            buf += chunk
            if len(buf) >= _CHUNK:
                stream.write(bytes(buf))
                buf.clear()
        stream.write(bytes(buf))
    return segment.size


def _level(options: ArchiveOptions) -> int:
    return options.level if options.level is not None else _LEVELS[options.format][2]


def _codec_version(fmt: Format) -> str:
    """The compression library's version: another version may compress to other bytes."""
    if fmt == "tar.zst":
        return f"zstandard {zstandard.__version__} libzstd {zstandard.ZSTD_VERSION}"
    if fmt == "tar.gz":
        return f"zlib {zlib.ZLIB_RUNTIME_VERSION}"
    return f"liblzma {_liblzma_version()}"


def _liblzma_version() -> str:
    # The lzma module does not say which liblzma it uses; the library does.
    try:
        import _lzma
        import ctypes

        fn = ctypes.CDLL(_lzma.__file__).lzma_version_string
        fn.restype = ctypes.c_char_p
        return cast(bytes, fn()).decode()
    except (OSError, AttributeError, ImportError):
        return "unknown"


def _layer_key(
    entries: list[_Entry], top: str, options: ArchiveOptions, layer: SeparateLayer
) -> str:
    """Everything that decides the layer segment's bytes: where its files come from, their
    names, kinds, modes, sizes, link targets and modification times (a file changed in place
    changes its mtime), the top folder, the archive mtime, format, level and codec version."""
    listing = hashlib.sha256()
    for e in entries:
        listing.update(
            f"{e.rel}\0{e.kind}\0{e.mode:o}\0{e.size}\0{e.target}\0{e.mtime_ns}\n".encode()
        )
    return cache_mod.cache_key(
        {
            "layout": _SEGMENT_LAYOUT,
            "identity": layer.identity,
            "folder": layer.folder,
            "listing": listing.hexdigest(),
            "top": top,
            "mtime": options.mtime,
            "format": options.format,
            "level": _level(options),
            "codec": _codec_version(options.format),
        }
    )


def _layer_segment(
    root: Path,
    entries: list[_Entry],
    out: _HashingWriter,
    top: str,
    options: ArchiveOptions,
    layer: SeparateLayer,
    offset: int,
) -> int:
    """Write one segment of a layer: from the cache when it holds it (checked against its
    recorded sha256 first), else compressed now, into the cache when there is one. The raw
    offset does not matter inside it (tar entries are block-aligned and the end padding is in
    the last segment)."""
    if layer.cache_dir is None:
        return _compress(out, options, _tar_chunks(root, top, entries, options, offset))
    store = cache_mod.Cache(layer.cache_dir)
    entry = store.entry(cache_mod.FRAMES, _layer_key(entries, top, options, layer))

    def build(tmp: Path) -> None:
        frame = _HashingWriter()
        with open(tmp / "segment", "wb") as f:
            frame.raw = f
            raw_size = _compress(frame, options, _tar_chunks(root, top, entries, options, offset))
        meta = {"sha256": frame.hash.hexdigest(), "size": frame.size, "raw_size": raw_size}
        (tmp / "segment.json").write_text(json.dumps(meta, sort_keys=True) + "\n")

    cache_mod.provision(entry, build)
    data, raw_size = _read_cached_segment(entry)
    if data is None:
        # Damaged (a disk error, a hand edit): drop it and compress afresh, once.
        with cache_mod.entry_lock(entry):
            remove_tree(entry)
        cache_mod.provision(entry, build)
        data, raw_size = _read_cached_segment(entry)
    if data is None:
        raise BuildError(
            f"the compressed layer cached at {entry} does not match its checksum; "
            "run `pack cache clean` and build again"
        )
    out.write(data)
    return raw_size


def _read_cached_segment(entry: Path) -> tuple[bytes | None, int]:
    try:
        meta = json.loads((entry / "segment.json").read_text())
        data = (entry / "segment").read_bytes()
    except (OSError, ValueError):
        return None, 0
    if len(data) != meta.get("size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None, 0
    return data, int(meta["raw_size"])


def sha256_sidecar(archive: Path) -> Path:
    """Where the `.sha256` file of `archive` lives."""
    return _sha256_path(archive)


def _sha256_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def _check_options(options: ArchiveOptions, top: str) -> None:
    check_options(options)
    if not top or "/" in top or "\\" in top or top in (".", "..") or "\0" in top:
        raise ConfigError(f"archive top folder {top!r} must be one plain folder name")


def check_options(options: ArchiveOptions) -> None:
    """The options on their own (format, level range, threads, mtime): a build checks them
    while planning, before anything is compressed."""
    if options.format not in FORMATS:
        raise ConfigError(
            f"unknown archive format {options.format!r}; use one of {', '.join(FORMATS)}"
        )
    if options.level is not None and options.format != "dir":
        low, high, _ = _LEVELS[options.format]
        if not low <= options.level <= high:
            raise ConfigError(
                f"compression level {options.level} is out of range for {options.format}; "
                f"use {low} to {high}"
            )
    if options.threads < 0:
        raise ConfigError(f"threads={options.threads} must be 0 (all cores) or more")
    if not 0 <= options.mtime <= _MAX_MTIME:
        raise ConfigError(f"archive mtime {options.mtime} must be between 0 and {_MAX_MTIME}")


@dataclass(frozen=True)
class _Entry:
    rel: str
    kind: Literal["dir", "file", "link"]
    mode: int
    size: int = 0
    target: str = ""
    mtime_ns: int = 0


def _walk(root: Path) -> list[_Entry]:
    """Every entry below `root` in a fixed order (names sorted within each folder, a folder
    before its contents), with its mode normalised; refuses what a bundle must not hold."""
    if not root.is_dir():
        raise BuildError(f"cannot archive {root}: it is not a directory")
    found: list[_Entry] = []

    # Appends rather than yields, and plain strings: a generator per folder level would
    # hand each of thousands of entries up through every level above it.
    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            rel = prefix + child.name
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raise BuildError(
                    f"cannot archive {child.path!r}: its name is not valid UTF-8; rename it"
                ) from None
            st = child.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(child.path)  # noqa: PTH115
                _check_link(root, rel, target)
                found.append(_Entry(rel, "link", 0o777, target=target))
            elif stat.S_ISDIR(st.st_mode):
                found.append(_Entry(rel, "dir", 0o755))
                walk(child.path, rel + "/")
            elif stat.S_ISREG(st.st_mode):
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                found.append(_Entry(rel, "file", mode, size=st.st_size, mtime_ns=st.st_mtime_ns))
            else:
                raise BuildError(
                    f"cannot archive {child.path}: not a file, folder or symlink; "
                    "remove it from the bundle"
                )

    walk(os.fspath(root), "")
    return found


def _check_link(root: Path, rel: str, target: str) -> None:
    if target.startswith("/"):
        raise BuildError(
            f"{root / rel} is a symlink to the absolute path {target}, which breaks when the "
            "bundle moves; make it relative"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if resolved == ".." or resolved.startswith("../"):
        raise BuildError(
            f"{root / rel} is a symlink to {target}, outside the bundle; "
            "point it inside the bundle or copy the file in"
        )


def _tar_size_bound(entries: list[_Entry]) -> int:
    return sum(e.size + _TAR_ENTRY_OVERHEAD for e in entries) + _TAR_ENTRY_OVERHEAD


def _tarinfo(name: str, kind: str, size: int, target: str, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif kind == "link":
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, target
    else:
        info.type, info.size = tarfile.REGTYPE, size
    return info


class _HashingWriter:
    """Hashes and counts the compressed bytes on their way to the file, sparing a re-read."""

    def __init__(self) -> None:
        self.raw: IO[bytes] | None = None
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        assert self.raw is not None
        self.hash.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        assert self.raw is not None
        self.raw.flush()


def zstd_compressor(level: int, threads: int, input_size: int) -> zstandard.ZstdCompressor:
    """The zstandard compressor pack uses for about `input_size` bytes. `threads` 0 means all
    cores. Always at least one worker: libzstd's multi-threaded output is the same for any
    worker count, but differs from its single-threaded mode."""
    workers = threads or os.cpu_count() or 1
    window_log = min(_ZSTD_MAX_WINDOW_LOG, max(_ZSTD_MIN_WINDOW_LOG, input_size.bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        window_log=window_log,
        enable_ldm=True,
        threads=workers,
        job_size=_ZSTD_JOB_SIZE,
        write_checksum=True,
    )
    return zstandard.ZstdCompressor(compression_params=params)


@contextlib.contextmanager
def _compressor(
    out: _HashingWriter, options: ArchiveOptions, input_size: int
) -> Iterator[IO[bytes]]:
    fmt = options.format
    level = _level(options)
    sink = cast(IO[bytes], out)
    if fmt == "tar.zst":
        compressor = zstd_compressor(level, options.threads, input_size)
        with compressor.stream_writer(sink, write_size=_CHUNK, closefd=False) as zst:
            yield cast(IO[bytes], zst)
    elif fmt == "tar.gz":
        # No file name and mtime 0 in the gzip header: neither may leak into the bytes.
        with gzip.GzipFile(
            filename="", fileobj=sink, mode="wb", compresslevel=level, mtime=0
        ) as gz:
            yield cast(IO[bytes], gz)
    else:
        with lzma.LZMAFile(sink, "wb", format=lzma.FORMAT_XZ, preset=level) as xz:
            yield cast(IO[bytes], xz)


def _write_dir(
    root: Path, entries: list[_Entry], dest: Path, options: ArchiveOptions
) -> WrittenArchive:
    """Copy the tree (real copies: the staging tree may share inodes with the cache), with the
    same normalised modes and mtimes as an archive would carry."""
    size = 0
    try:
        with staged_dir(dest) as tmp:
            for entry in entries:
                target = tmp / entry.rel
                if entry.kind == "dir":
                    target.mkdir()
                elif entry.kind == "link":
                    target.symlink_to(entry.target)
                else:
                    shutil.copyfile(root / entry.rel, target)
                    target.chmod(entry.mode)
                    size += entry.size
            for entry in reversed(entries):
                if entry.kind == "dir":
                    (tmp / entry.rel).chmod(0o755)
                os.utime(tmp / entry.rel, (options.mtime, options.mtime), follow_symlinks=False)
            tmp.chmod(0o755)
            os.utime(tmp, (options.mtime, options.mtime))
    except OSError as exc:
        if disk := disk_error(exc, f"writing {dest}"):
            raise disk from exc
        raise BuildError(
            f"writing {dest} failed: {exc}; check the free space and permissions there"
        ) from exc
    return WrittenArchive(dest, "", size, "dir")


MemberKind = Literal["file", "link", "dir", "hardlink", "other"]


@dataclass(frozen=True)
class Member:
    """One entry of a bundle read from an archive or a directory. `path` is POSIX and relative
    to the bundle root; `sha256` is filled when digests were asked for, `data` when `keep`
    selected the path."""

    path: str
    kind: MemberKind
    size: int = 0
    executable: bool = False
    target: str = ""
    sha256: str = ""
    data: bytes | None = None
    mode: int = 0  # permission bits, with setuid/setgid/sticky
    nlink: int = 1


def read_bundle(
    source: Path,
    *,
    digests: bool = False,
    keep: Callable[[str], bool] = lambda path: False,
) -> Iterator[Member]:
    """Every entry of the bundle in `source` (a pack archive or an unpacked bundle directory),
    streamed: an archive is never unpacked to disk. Directories are yielded too."""
    if source.is_dir():
        yield from _read_dir(source, digests, keep)
        return
    if not source.is_file():
        raise ConfigError(f"{source} does not exist; give a pack archive or bundle directory")
    if format_of(source) is None:
        raise ConfigError(
            f"{source} is not a pack archive (.tar.zst, .tar.gz or .tar.xz) or a bundle directory"
        )
    yield from _read_archive(source, digests, keep)


def _read_dir(root: Path, digests: bool, keep: Callable[[str], bool]) -> Iterator[Member]:
    def walk(folder: Path, prefix: str) -> Iterator[Member]:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            rel = prefix + child.name
            st = child.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                yield Member(rel, "link", target=str(Path(child.path).readlink()))
            elif stat.S_ISDIR(st.st_mode):
                yield Member(rel, "dir", mode=stat.S_IMODE(st.st_mode))
                yield from walk(Path(child.path), rel + "/")
            elif stat.S_ISREG(st.st_mode):
                wanted = keep(rel)
                digest, data = "", None
                if digests or wanted:
                    with open(child.path, "rb") as f:
                        digest, data = _consume(f, wanted)
                yield Member(
                    rel,
                    "file",
                    st.st_size,
                    bool(st.st_mode & 0o111),
                    "",
                    digest,
                    data,
                    stat.S_IMODE(st.st_mode),
                    st.st_nlink,
                )
            else:
                yield Member(rel, "other")

    yield from walk(root, "")


def _consume(f: IO[bytes], keep: bool) -> tuple[str, bytes | None]:
    h = hashlib.sha256()
    parts: list[bytes] = []
    while chunk := f.read(_CHUNK):
        h.update(chunk)
        if keep:
            parts.append(chunk)
    return h.hexdigest(), b"".join(parts) if keep else None


def _read_archive(archive: Path, digests: bool, keep: Callable[[str], bool]) -> Iterator[Member]:
    top: str | None = None
    try:
        with open_tar(archive) as tar:
            for info in tar:
                name = info.name.rstrip("/")
                parts = name.split("/")
                if name.startswith("/") or ".." in parts:
                    raise UnsafeArchiveError(
                        f"{archive}: entry {info.name!r} points outside the bundle; "
                        "the archive is corrupt or malicious"
                    )
                if top is None:
                    top = parts[0]
                if parts[0] != top:
                    raise ChecksumError(
                        f"{archive}: entries under both {top!r} and {parts[0]!r}; "
                        "a pack archive holds one top folder"
                    )
                rel = "/".join(parts[1:])
                if not rel:
                    continue
                if info.isreg():
                    wanted = keep(rel)
                    digest, data = "", None
                    if digests or wanted:
                        f = tar.extractfile(info)
                        assert f is not None
                        digest, data = _consume(f, wanted)
                    yield Member(
                        rel, "file", info.size, bool(info.mode & 0o111), "", digest, data, info.mode
                    )
                elif info.issym():
                    yield Member(rel, "link", target=info.linkname)
                elif info.isdir():
                    yield Member(rel, "dir", mode=info.mode)
                elif info.islnk():
                    yield Member(rel, "hardlink", target=info.linkname)
                else:
                    yield Member(rel, "other", info.size)
    except RuntimeChecksumError as exc:
        raise ChecksumError(f"{exc}; re-download or rebuild it") from exc
    except (StubError, OSError) as exc:
        raise ChecksumError(
            f"{archive}: not a readable archive ({exc}); re-download or rebuild it"
        ) from exc
