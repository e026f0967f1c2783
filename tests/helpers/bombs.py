"""Hostile archives made on the spot: a zstd stream that unpacks to gigabytes from a few
hundred kilobytes (identical compressed frames, concatenated, are one valid stream), and tar
headers that announce huge or malformed pax data (CPython CVE-2024-6232)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import zstandard

_MIB = 1 << 20


def _zero_frames(size: int) -> bytes:
    """A zstd stream of `size` zero bytes (`size` a multiple of 1 MiB), made in milliseconds."""
    frame = zstandard.ZstdCompressor(level=19).compress(bytes(_MIB))
    return frame * (size // _MIB)


def _frame(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def size_bomb(path: Path, *, files: int, each: int, top: str = "demo-2.0") -> Path:
    """A .tar.zst of `files` files of `each` zero bytes under `top/`."""
    folder = tarfile.TarInfo(f"{top}/")
    folder.type = tarfile.DIRTYPE
    parts = [_frame(folder.tobuf(tarfile.GNU_FORMAT))]
    for i in range(files):
        info = tarfile.TarInfo(f"{top}/zeros-{i}")
        info.size = each
        parts.append(_frame(info.tobuf(tarfile.GNU_FORMAT)))
        parts.append(_zero_frames(each))
    parts.append(_frame(bytes(1024)))
    path.write_bytes(b"".join(parts))
    return path


def pax_bomb(path: Path, size: int = 1 << 30, top: str = "demo-2.0") -> Path:
    """A .tar.zst whose first header announces `size` bytes of pax records (the bytes follow:
    spaces, as in the CVE's reproducer), then a normal file."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = size
    parts = [_frame(header.tobuf(tarfile.GNU_FORMAT))]
    spaces = zstandard.ZstdCompressor(level=19).compress(b" " * _MIB)
    parts.append(spaces * (size // _MIB))
    parts.append(_frame(bytes(-size % 512)))
    info = tarfile.TarInfo(f"{top}/x")
    parts.append(_frame(info.tobuf(tarfile.GNU_FORMAT) + bytes(1024)))
    path.write_bytes(b"".join(parts))
    return path


def malformed_pax(path: Path, top: str = "demo-2.0") -> Path:
    """A .tar.zst with a small pax header that is not a sequence of `<len> <key>=<value>\\n`
    records (the backtracking input of CVE-2024-6232, cut to 60 KiB)."""
    data = b"0" * 30_000 + b" " + b"a" * 30_000
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(data)
    info = tarfile.TarInfo(f"{top}/x")
    raw = _pad(header.tobuf(tarfile.GNU_FORMAT) + data) + info.tobuf(tarfile.GNU_FORMAT)
    path.write_bytes(_frame(raw + bytes(1024)))
    return path
