"""The architecture guard: real ELF and Mach-O files (this interpreter, markupsafe's compiled
module from its musllinux, manylinux and macOS wheels on PyPI), crafted headers for the cases
no download gives (a wrong ELF interpreter, a Java class file sharing the fat magic), and the
bundle check's exact error."""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import pytest

from packager.binarch import Binary, check_bundle, identify, mismatch
from packager.errors import BuildError
from packager.targets import Target
from tests.helpers.wheel_binaries import speedups

GNU_X86 = Target("x86_64-unknown-linux-gnu")
GNU_ARM = Target("aarch64-unknown-linux-gnu")
MUSL_X86 = Target("x86_64-unknown-linux-musl")
MUSL_ARM = Target("aarch64-unknown-linux-musl")
MAC_ARM = Target("aarch64-apple-darwin")
MAC_X86 = Target("x86_64-apple-darwin")

PLATFORMS = (
    "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64",
    "manylinux_2_17_aarch64",
    "macosx_11_0_arm64",
    "macosx_10_9_universal2",
)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory, session_cache: Path) -> dict[str, Path]:
    dest = tmp_path_factory.mktemp("wheel-binaries")
    return {p: speedups(session_cache, p, dest) for p in PLATFORMS}


def _elf(path: Path, machine: int, interp: bytes | None = None) -> Path:
    """A minimal 64-bit little-endian ELF header (with one PT_INTERP program header)."""
    phoff = 64
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[4], header[5], header[6] = 2, 1, 1
    struct.pack_into("<HHI", header, 16, 2, machine, 1)
    struct.pack_into("<Q", header, 32, phoff if interp else 0)
    struct.pack_into("<HH", header, 54, 56, 1 if interp else 0)
    body = bytes(header)
    if interp:
        text = interp + b"\0"
        ph = struct.pack("<IIQQQQQQ", 3, 4, 64 + 56, 0, 0, len(text), len(text), 1)
        body += ph + text
    path.write_bytes(body)
    return path


def test_real_binaries_are_identified(real: dict[str, Path]) -> None:
    host = identify(Path(sys.executable).resolve())
    assert host is not None and host.format == "elf" and host.arches == ("x86_64",)
    assert host.interp == "/lib64/ld-linux-x86-64.so.2"
    assert identify(real["musllinux_1_2_x86_64"]) == Binary("elf", ("x86_64",))
    assert identify(real["musllinux_1_2_aarch64"]) == Binary("elf", ("aarch64",))
    assert identify(real["manylinux_2_17_aarch64"]) == Binary("elf", ("aarch64",))
    assert identify(real["macosx_11_0_arm64"]) == Binary("mach-o", ("aarch64",))
    assert identify(real["macosx_10_9_universal2"]) == Binary("mach-o", ("x86_64", "aarch64"))
    assert identify(Path(__file__)) is None


def test_what_fits_each_target(real: dict[str, Path]) -> None:
    def fits(name: str, target: Target) -> bool:
        binary = identify(real[name])
        assert binary is not None
        return mismatch(binary, target) is None

    assert fits("musllinux_1_2_x86_64", MUSL_X86)
    assert fits("musllinux_1_2_aarch64", MUSL_ARM)
    assert not fits("musllinux_1_2_aarch64", MUSL_X86)
    assert fits("manylinux_2_17_aarch64", GNU_ARM)
    assert not fits("manylinux_2_17_aarch64", GNU_X86)
    assert fits("macosx_11_0_arm64", MAC_ARM)
    assert not fits("macosx_11_0_arm64", MAC_X86)
    assert fits("macosx_10_9_universal2", MAC_ARM) and fits("macosx_10_9_universal2", MAC_X86)
    assert not fits("macosx_11_0_arm64", GNU_ARM)
    assert not fits("manylinux_2_17_aarch64", MAC_ARM)


def test_elf_interpreter_must_be_the_targets(tmp_path: Path) -> None:
    ok = identify(_elf(tmp_path / "ok", 183, b"/lib/ld-linux-aarch64.so.1"))
    musl = identify(_elf(tmp_path / "musl", 183, b"/lib/ld-musl-aarch64.so.1"))
    assert ok == Binary("elf", ("aarch64",), "/lib/ld-linux-aarch64.so.1")
    assert ok is not None and musl is not None
    assert mismatch(ok, GNU_ARM) is None
    assert mismatch(musl, GNU_ARM) == (
        "its ELF interpreter is /lib/ld-musl-aarch64.so.1, the target's is "
        "/lib/ld-linux-aarch64.so.1"
    )
    assert mismatch(ok, MUSL_ARM) == (
        "its ELF interpreter is /lib/ld-linux-aarch64.so.1, the target's is "
        "/lib/ld-musl-aarch64.so.1"
    )


def test_not_binaries(tmp_path: Path) -> None:
    java = tmp_path / "Hello.class"
    java.write_bytes(b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + b"\0" * 64)  # class file version 65
    short = tmp_path / "short"
    short.write_bytes(b"\x7fEL")
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    assert identify(java) is None
    assert identify(short) is None
    assert identify(truncated) is None


def test_check_bundle_names_every_foreign_binary(tmp_path: Path, real: dict[str, Path]) -> None:
    root = tmp_path / "app-1.0"
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    shutil.copy(real["manylinux_2_17_aarch64"], site / "good.so")
    shutil.copy(Path(sys.executable).resolve(), site / "planted.so")
    shutil.copy(real["macosx_11_0_arm64"], site / "mac.so")
    (site / "link.so").symlink_to("planted.so")  # links are not read twice
    (site / "mod.py").write_text("x = 1\n")
    with pytest.raises(BuildError) as err:
        check_bundle(root, GNU_ARM)
    assert str(err.value) == (
        f"the bundle for {GNU_ARM} contains binaries for another platform: "
        "venv/lib/python3.11/site-packages/mac.so (a mach-o file, the target needs elf); "
        "venv/lib/python3.11/site-packages/planted.so (built for x86_64, the target is aarch64); "
        "the lock or a local extra brings a wheel of the wrong platform: fix it and build again"
    )
    (site / "planted.so").unlink()
    (site / "link.so").unlink()
    (site / "mac.so").unlink()
    assert check_bundle(root, GNU_ARM) == 1


def test_hostile_headers_are_read_within_bounds(tmp_path: Path) -> None:
    """A header claiming 65535 program headers, or a PT_INTERP of a terabyte, costs a bounded
    read: the first is not walked, the second is cut at 4 KiB."""
    many = bytearray(_elf(tmp_path / "many", 183).read_bytes())
    struct.pack_into("<QHH", many, 32, 64, 0, 0)
    struct.pack_into("<HH", many, 54, 56, 0xFFFF)
    (tmp_path / "many").write_bytes(bytes(many))
    assert identify(tmp_path / "many") == Binary("elf", ("aarch64",))
    huge = bytearray(_elf(tmp_path / "huge", 183, b"/lib/ld-linux-aarch64.so.1").read_bytes())
    struct.pack_into("<Q", huge, 64 + 32, 1 << 40)  # p_filesz
    (tmp_path / "huge").write_bytes(bytes(huge) + b"x" * 5000)
    found = identify(tmp_path / "huge")
    assert found is not None and found.interp == "/lib/ld-linux-aarch64.so.1"
    fat = tmp_path / "fat"
    fat.write_bytes(
        struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">IIIII", 0x0100000C, 0, 0, 0, 0)
    )
    assert identify(fat) == Binary("mach-o", ("aarch64",))
    endless = tmp_path / "endless"
    endless.write_bytes(struct.pack(">II", 0xCAFEBABE, 0xFFFFFFFF) + b"\0" * 64)
    assert identify(endless) is None
