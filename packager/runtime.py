"""The runtime layer: a verified python-build-standalone archive extracted once into the cache
(`pythons/<archive sha256>/python/`), its standard library precompiled with unchecked-hash
bytecode so a read-only bundle never writes `__pycache__`. Parts most bundles strip (the test
suites) are compiled only when a build first keeps them, into the same entry."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pack_runtime.layout import PYTHON

from . import cache as cache_mod
from ._fs import atomic_write_text
from ._proc import run
from .context import Context
from .errors import BuildError
from .extract import safe_extract
from .pythons import InterpreterArchive
from .strip import DEFERRED, part_paths

# Beside cache.MARKER in a runtime entry: the deferred parts (strip.DEFERRED) are compiled too.
COMPILED_MARKER = ".compiled-deferred"


@dataclass(frozen=True)
class Runtime:
    entry: Path  # the cache entry; the tree is entry / "python"
    archive: InterpreterArchive
    exe_name: str  # "python3.11", "python3.13t"
    stdlib_name: str  # "python3.11", "python3.13t"
    provisioned: bool = field(default=False, compare=False)  # made by this call, not reused

    @property
    def home(self) -> Path:
        return self.entry / PYTHON

    @property
    def exe(self) -> Path:
        return self.home / "bin" / self.exe_name

    @property
    def version(self) -> str:
        return self.archive.version


def _find_exe(home: Path, archive: InterpreterArchive) -> tuple[str, str]:
    major, minor = archive.minor
    suffix = "t" if archive.freethreaded else ""
    exe = f"python{major}.{minor}{suffix}"
    if not (home / "bin" / exe).is_file():
        found = (
            sorted(p.name for p in (home / "bin").glob("python3*"))
            if (home / "bin").is_dir()
            else []
        )
        raise BuildError(
            f"{archive.filename}: no python/bin/{exe} inside "
            f"(found: {', '.join(found) or 'nothing'}); it is not a python-build-standalone "
            "install_only archive"
        )
    stdlib = f"python{major}.{minor}{suffix}"
    if not (home / "lib" / stdlib).is_dir():
        raise BuildError(
            f"{archive.filename}: no python/lib/{stdlib} inside; not an install_only archive"
        )
    return exe, stdlib


_FEW_FILES = 32


def compile_tree(
    python: Path,
    paths: Sequence[Path],
    strip_prefix: Path,
    *,
    what: str,
    skip: Sequence[Path] = (),
) -> None:
    """Compile the .py files under `paths` (directories or files) with `python` (the bundle's
    own interpreter, so the bytecode matches it), unchecked-hash invalidation, and source paths
    made relative to `strip_prefix` so no build-machine path is embedded. Always forced:
    compileall's freshness check reads only timestamp headers, so it would rewrite every
    hash-based file anyway. Paths go on stdin (`-i -`), however many there are. Files that do
    not compile (e.g. templates named .py) are left as source, as pip does. Nothing under the
    folders `skip` is compiled. A few files are compiled in one process: starting a pool of
    workers costs more than it saves for them."""
    few = len(paths) <= _FEW_FILES and not any(p.is_dir() for p in paths)
    exclude = r"(^|/)(test/bad\w*|lib2to3/tests/data|tests?/data)/"
    if skip:
        exclude += "|" + "|".join(f"^{re.escape(str(p))}/" for p in skip)
    argv: list[str | Path] = [
        python, "-I", "-m", "compileall", "-q", "-f", "-j", "1" if few else "0",
        "--invalidation-mode", "unchecked-hash", "-s", strip_prefix,
        "-x", exclude,
        "-i", "-",
    ]  # fmt: skip
    listing = "".join(f"{p}\n" for p in paths).encode()
    run(argv, what=f"compiling bytecode for {what}", input=listing, check_exit=False)


def _deferred_folders(home: Path, stdlib: str) -> list[Path]:
    return [p for name in DEFERRED for p in part_paths(home, name, stdlib) if p.is_dir()]


def provision_runtime(
    ctx: Context,
    archive: InterpreterArchive,
    *,
    compiler: Path | None = None,
    keep: Sequence[str] = (),
) -> Runtime:
    """The runtime entry for `archive`, extracted and compiled in the cache if not already.
    `compiler` (a host interpreter of the same minor version) compiles the standard library
    when the archive's own interpreter cannot run here; the bytecode is the same. The parts
    of strip.DEFERRED are compiled only once a build names them in `keep` (the parts it does
    not strip): into the entry, under its lock, once."""
    store = cache_mod.Cache(ctx.cache_dir)
    entry = store.entry(cache_mod.PYTHONS, archive.sha256)

    def build(tmp: Path) -> None:
        ctx.reporter.step(f"Unpacking {archive.filename}")
        safe_extract(archive.path, tmp)
        home = tmp / PYTHON
        if not home.is_dir():
            raise BuildError(
                f"{archive.filename}: no top-level python/ folder; pack needs an install_only "
                "(or install_only_stripped) archive"
            )
        exe, stdlib = _find_exe(home, archive)
        ctx.reporter.step(f"Compiling the standard library of Python {archive.version}")
        python = compiler or home / "bin" / exe
        skip = _deferred_folders(home, stdlib)
        compile_tree(python, [home / "lib" / stdlib], home, what=archive.filename, skip=skip)

    provisioned = cache_mod.provision(entry, build)
    if provisioned:
        ctx.reporter.detail(f"runtime cached at {entry}")
    exe, stdlib = _find_exe(entry / PYTHON, archive)
    runtime = Runtime(
        entry=entry, archive=archive, exe_name=exe, stdlib_name=stdlib, provisioned=provisioned
    )
    if any(name in keep for name in DEFERRED):
        _compile_deferred(ctx, runtime, compiler)
    return runtime


def _compile_deferred(ctx: Context, runtime: Runtime, compiler: Path | None) -> None:
    """Compile the deferred parts into the provisioned entry, once (a second marker, written
    last). The same interpreter, flags and stripped prefix as at provisioning, so the bytes
    are those a full compile would have made. compileall replaces each file (a new inode), so
    bundles hard-linked from the entry meanwhile keep what they had."""
    marker = runtime.entry / COMPILED_MARKER
    if marker.is_file():
        return
    with cache_mod.entry_lock(runtime.entry):
        if marker.is_file():
            return
        folders = _deferred_folders(runtime.home, runtime.stdlib_name)
        if folders:
            ctx.reporter.step(f"Compiling the test suites of Python {runtime.version}")
            compile_tree(
                compiler or runtime.exe, folders, runtime.home, what=runtime.archive.filename
            )
        atomic_write_text(marker, json.dumps({"created": int(time.time())}) + "\n")
