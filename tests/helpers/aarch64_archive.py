"""Make an aarch64 CPython 3.11 archive in python-build-standalone's `install_only` shape from
Debian's arm64 packages (`apt-get download` + `dpkg -x`), for cross-target tests on an x86_64
machine: real aarch64 binaries that run here under qemu-user through binfmt_misc.

The tree is `python/bin/python3.11` (rpath `$ORIGIN/../lib`), `python/lib/python3.11/` (no
`test`, no `__pycache__`, no `dist-packages`), and the shared libraries the interpreter and the
stdlib's extension modules link in `python/lib/` (`lib-dynload/*.so` get `$ORIGIN/../..`).

Usage: python -m tests.helpers.aarch64_archive OUT_DIR
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers.python_archive import DEFAULT_TAG, _deterministic_tar, _patchelf

TRIPLE = "aarch64-unknown-linux-gnu"
# The interpreter, its standard library, and the libraries its extension modules link.
PACKAGES = (
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libssl3",
    "libffi8",
    "libsqlite3-0",
    "libbz2-1.0",
    "liblzma5",
    "libexpat1",
    "zlib1g",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "libreadline8",
    "libcrypt1",
    "libgdbm6",
    "libgdbm-compat4",
    "libdb5.3",
    "libnsl2",
    "libtirpc3",
    "libgssapi-krb5-2",
    "libkrb5-3",
    "libk5crypto3",
    "libkrb5support0",
    "libcom-err2",
    "libkeyutils1",
)
_SKIP_STDLIB = {"test", "__pycache__", "dist-packages", "site-packages", "idlelib", "turtledemo"}
_ELF = b"\x7fELF"
_LIB_DIRS = ("lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu")


def download_debs(dest: Path) -> list[Path]:
    """`apt-get download` the arm64 packages into `dest` (run as root, arm64 added)."""
    dest.mkdir(parents=True, exist_ok=True)
    have = list(dest.glob("*.deb"))
    if len(have) >= len(PACKAGES):
        return sorted(have)
    subprocess.run(
        ["apt-get", "download", "-q", *[f"{p}:arm64" for p in PACKAGES]],
        cwd=dest,
        check=True,
        capture_output=True,
    )
    return sorted(dest.glob("*.deb"))


def build_tree(root: Path, debs: list[Path]) -> str:
    """Fill `root/python` from the unpacked packages; return the Python version."""
    raw = root / "raw"
    for deb in debs:
        subprocess.run(["dpkg", "-x", deb, raw], check=True)
    py = root / "python"
    (py / "bin").mkdir(parents=True)
    exe = py / "bin" / "python3.11"
    shutil.copy2(raw / "usr/bin/python3.11", exe)
    for alias in ("python3", "python"):
        (py / "bin" / alias).symlink_to("python3.11")
    stdlib = py / "lib" / "python3.11"
    src = raw / "usr/lib/python3.11"

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
        if Path(directory) == src:
            skip |= {n for n in names if n in _SKIP_STDLIB or n.startswith("config-")}
        return skip

    shutil.copytree(src, stdlib, symlinks=False, ignore=ignore)
    (stdlib / "site-packages").mkdir()
    for libdir in _LIB_DIRS:
        for lib in sorted((raw / libdir).glob("lib*.so*")):
            if lib.is_file() or lib.is_symlink():
                target = py / "lib" / lib.name
                if lib.is_symlink():
                    target.symlink_to(lib.readlink())
                else:
                    shutil.copy2(lib, target)
    patchelf = _patchelf()
    subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", exe], check=True)
    for so in sorted((stdlib / "lib-dynload").glob("*.so")):
        subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../..", so], check=True)
    for lib in sorted((py / "lib").glob("lib*.so*")):
        if not lib.is_symlink():
            subprocess.run([patchelf, "--set-rpath", "$ORIGIN", lib], check=True)
    shutil.rmtree(raw)
    # The version from the package name (python3.11-minimal_3.11.2-6+deb12u9_arm64.deb), so
    # the archive can be made where nothing aarch64 runs.
    found = re.search(r"python3\.11-minimal_(3\.11\.\d+)", " ".join(d.name for d in debs))
    if not found:
        raise RuntimeError("cannot tell the Python version of the arm64 packages")
    return found.group(1)


def make_aarch64_archive(out_dir: Path, *, debs_dir: Path | None = None) -> Path:
    """Write `cpython-3.11.X+<tag>-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz`
    and its `.sha256` into `out_dir`; the packages are downloaded into `debs_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pack-aarch64-") as tmp:
        debs = download_debs(debs_dir or Path(tmp) / "debs")
        tree = Path(tmp) / "tree"
        tree.mkdir()
        version = build_tree(tree, debs)
        name = f"cpython-{version}+{DEFAULT_TAG}-{TRIPLE}-install_only_stripped.tar.gz"
        dest = out_dir / name
        _deterministic_tar(tree, dest)
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    (out_dir / f"{name}.sha256").write_text(f"{digest}  {name}\n")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    print(make_aarch64_archive(Path(sys.argv[1])))
