"""The test interpreter archives are faithful to python-build-standalone's two flavours:
`install_only_stripped` (pack's default) has every ELF file stripped and still works,
`install_only` keeps its symbols."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.helpers.python_archive import elf_files

_MODULES = "ssl, sqlite3, zlib, ctypes, _ctypes, hashlib, lzma, bz2, json, decimal"


def _unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "python"


def _sections(path: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-S", "--wide", path], capture_output=True, text=True, check=True
    ).stdout
    return {word for word in out.split() if word.startswith(".")}


@pytest.fixture(scope="module")
def trees(pbs_archive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("flavours")
    return {
        flavor: _unpack(next(pbs_archive_dir.glob(f"cpython-*-{flavor}.tar.gz")), out / flavor)
        for flavor in ("install_only_stripped", "install_only")
    }


def test_stripped_flavour_has_no_symbol_tables(trees: dict[str, Path]) -> None:
    stripped = elf_files(trees["install_only_stripped"])
    assert len(stripped) > 20  # the interpreter, libpython and the extension modules
    for path in stripped:
        assert not _sections(path) & {".symtab", ".debug_info"}, path


def test_unstripped_flavour_keeps_symbols(trees: dict[str, Path]) -> None:
    libpython = next((trees["install_only"] / "lib").glob("libpython3*.so.1.0"))
    assert ".symtab" in _sections(libpython)


def test_flavours_hold_the_same_files_and_the_stripped_one_is_smaller(
    trees: dict[str, Path],
) -> None:
    def listing(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))

    stripped, full = trees["install_only_stripped"], trees["install_only"]
    assert listing(stripped) == listing(full)

    def size(root: Path) -> int:
        return sum(p.stat().st_size for p in elf_files(root))

    assert size(stripped) < 0.8 * size(full)


@pytest.mark.parametrize("flavor", ["install_only_stripped", "install_only"])
def test_interpreter_runs_and_imports_its_extension_modules(
    trees: dict[str, Path], tmp_path: Path, flavor: str
) -> None:
    # Moved first: nothing in it may point back to where it was made.
    moved = tmp_path / "moved python"
    trees[flavor].rename(moved)
    try:
        proc = subprocess.run(
            [
                moved / "bin" / "python3",
                "-I",
                "-c",
                f"import {_MODULES}, sys; ctypes.CDLL(None); print(sys.prefix)",
            ],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )
    finally:
        moved.rename(trees[flavor])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(moved)
