"""The architecture guard: what machine an ELF or Mach-O file is built for (ELF `e_machine`
and `PT_INTERP`; Mach-O `cputype`, fat/universal files included), and the check that every
binary in a bundle is of its target's, so a bundle for T never ships a binary for another."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError
from .targets import Target

_ELF_MACHINES = {62: "x86_64", 183: "aarch64", 3: "i386", 40: "arm", 243: "riscv64", 21: "ppc64"}
_MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "aarch64", 7: "i386", 12: "arm"}
# The dynamic loader a target's executables name (their PT_INTERP).
LOADERS = {
    ("linux", "gnu", "x86_64"): "/lib64/ld-linux-x86-64.so.2",
    ("linux", "gnu", "aarch64"): "/lib/ld-linux-aarch64.so.1",
    ("linux", "musl", "x86_64"): "/lib/ld-musl-x86_64.so.1",
    ("linux", "musl", "aarch64"): "/lib/ld-musl-aarch64.so.1",
}
_PT_INTERP = 3
_HEAD = 64
_MAX_FAT_ARCHS = 32  # Java class files share the fat magic; their "count" is a version >= 45
_MAX_INTERP = 4096


@dataclass(frozen=True)
class Binary:
    """What a file is built for: its format and architectures (one, or several for a fat
    Mach-O), and for an ELF executable the loader it names."""

    format: str  # "elf", "mach-o"
    arches: tuple[str, ...]
    interp: str | None = None


def loader(target: Target) -> str | None:
    return LOADERS.get((target.os, target.libc, target.arch))


def _elf(f: _Reader, head: bytes) -> Binary:
    if head[4] != 2:  # ELFCLASS64; every target pack builds for is 64-bit
        return Binary("elf", ("32-bit",))
    endian = "<" if head[5] == 1 else ">"
    (machine,) = struct.unpack_from(endian + "H", head, 18)
    arch = _ELF_MACHINES.get(machine, f"machine {machine}")
    (phoff,) = struct.unpack_from(endian + "Q", head, 32)
    phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
    interp = None
    if 0 < phnum <= 256 and phentsize >= 56:
        table = f.read_at(phoff, phentsize * phnum)
        for i in range(len(table) // phentsize):
            (p_type,) = struct.unpack_from(endian + "I", table, i * phentsize)
            if p_type == _PT_INTERP:
                (offset,) = struct.unpack_from(endian + "Q", table, i * phentsize + 8)
                (size,) = struct.unpack_from(endian + "Q", table, i * phentsize + 32)
                raw = f.read_at(offset, min(size, _MAX_INTERP))
                interp = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
                break
    return Binary("elf", (arch,), interp)


def _macho_cpu(cputype: int) -> str:
    return _MACHO_CPUS.get(cputype, f"cputype {cputype:#x}")


def identify(path: str | Path) -> Binary | None:
    """The binary format and architecture(s) of `path`; None for anything else."""
    with _Reader(path) as f:
        head = f.read_at(0, _HEAD)
        if len(head) < 8:
            return None
        if head[:4] == b"\x7fELF" and len(head) >= 64:
            return _elf(f, head)
        (magic_le,) = struct.unpack_from("<I", head, 0)
        if magic_le in (0xFEEDFACF, 0xFEEDFACE):  # thin Mach-O, little-endian (all of today's)
            (cputype,) = struct.unpack_from("<I", head, 4)
            return Binary("mach-o", (_macho_cpu(cputype),))
        magic_be, count = struct.unpack_from(">II", head, 0)
        if magic_be in (0xCAFEBABE, 0xCAFEBABF) and 0 < count <= _MAX_FAT_ARCHS:
            size = 20 if magic_be == 0xCAFEBABE else 32
            table = f.read_at(8, count * size)
            arches = tuple(
                _macho_cpu(struct.unpack_from(">I", table, i * size)[0])
                for i in range(len(table) // size)
            )
            return Binary("mach-o", arches)
    return None


class _Reader:
    def __init__(self, path: str | Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)


def mismatch(binary: Binary, target: Target) -> str | None:
    """Why `binary` cannot be part of a bundle for `target`; None when it fits."""
    want_format = "mach-o" if target.os == "darwin" else "elf"
    if binary.format != want_format:
        return f"a {binary.format} file, the target needs {want_format}"
    if target.arch not in binary.arches:
        return f"built for {'+'.join(binary.arches)}, the target is {target.arch}"
    expected = loader(target)
    if binary.interp is not None and expected is not None and binary.interp != expected:
        return f"its ELF interpreter is {binary.interp}, the target's is {expected}"
    return None


def _files(root: str) -> list[tuple[str, str]]:
    """(path relative to `root`, path) of every regular file below `root`, symlinks not
    followed: a folder's files first, then its subfolders, each sorted by name."""
    found: list[tuple[str, str]] = []

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        folders = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry)
            elif entry.is_file(follow_symlinks=False):
                found.append((prefix + entry.name, entry.path))
        for sub in folders:
            walk(sub.path, f"{prefix}{sub.name}/")

    walk(root, "")
    return found


def check_bundle(root: Path, target: Target) -> int:
    """Every ELF and Mach-O file under `root` must be for `target`: a build error naming each
    one that is not. Returns how many binaries were checked."""
    bad: list[str] = []
    checked = 0
    # os.scandir and plain strings: a bundle holds thousands of files and this runs at
    # every build, where Path objects per file cost several times the reads themselves.
    for rel, path in _files(os.fspath(root)):
        binary = identify(path)
        if binary is None:
            continue
        checked += 1
        why = mismatch(binary, target)
        if why is not None:
            bad.append(f"{rel} ({why})")
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise BuildError(
            f"the bundle for {target} contains binaries for another platform: {shown}; "
            "the lock or a local extra brings a wheel of the wrong platform: fix it and build "
            "again"
        )
    return checked
