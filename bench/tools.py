"""Each tool under test as the same small interface: how to empty its caches (cold), the
timed build steps, what it ships, how to install that for runs, how to run it, and what its
first run must start from. All of them build bench/work/src/benchapp from the same lock,
wheelhouse and interpreter."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packager.bundlearchive import default_level

from .proc import BenchError, run
from .workspace import REPO, Workspace, peer_pins

PACK_ZSTD_LEVEL = default_level("tar.zst")
#: the documented release preset: `pack build --compression-level 19` (long-distance matching
#: is always on in pack's writer)
RELEASE_LEVEL = 19
APP = "benchapp"
ENTRY = "benchapp.cli:main"


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    env: dict[str, str]
    what: str


def _argv(*parts: str | os.PathLike[str]) -> tuple[str, ...]:
    return tuple(os.fspath(p) for p in parts)


def dir_bytes(root: Path) -> int:
    """Bytes of the regular files under `root` (symlinks not followed, hard links once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = (Path(dirpath) / name).lstat()
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


class Tool(ABC):
    key: str
    label: str
    #: which interpreter the shipped thing runs on
    interpreter: str
    #: what a user ships
    shipped: str
    #: a one-line note for the report
    note: str = ""
    #: builds so slow that extra warm-build rounds skip the tool (keeps `make bench` short)
    slow_build = False
    #: whether the run phase times it (not for a build variant that runs the same bundle)
    timed_runs = True

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # Building -------------------------------------------------------------------------------
    def clean(self) -> None:
        """Cold: remove every cache and output of this tool."""
        for d in (self.ws.cache(self.key), self.ws.out(self.key)):
            shutil.rmtree(d, ignore_errors=True)
        self.ws.out(self.key).mkdir(parents=True)

    def cold_note(self) -> str:
        """What happens, untimed, before a cold build."""
        return f"untimed: rm -rf $W/cache/{self.key} $W/out/{self.key}"

    def prime(self) -> None:
        """Untimed preparation after clean() (installing the tool itself, where it must sit
        in the build environment)."""
        self.ws.cache(self.key).mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def build_steps(self, cold: bool) -> list[Step]: ...

    @abstractmethod
    def artifact(self) -> Path: ...

    def artifact_bytes(self) -> int:
        a = self.artifact()
        return dir_bytes(a) if a.is_dir() else a.stat().st_size

    # Running --------------------------------------------------------------------------------
    def run_env(self, sandbox: bool = False) -> dict[str, str]:
        tmp = "/tmp" if sandbox else self.ws.run_dir(self.key) / "tmp"
        return self.ws.base_env(TMPDIR=tmp)

    def install(self) -> Path:
        """Put the artifact where warm runs use it (untimed); return the command to run."""
        shutil.rmtree(self.ws.run_dir(self.key), ignore_errors=True)
        (self.ws.run_dir(self.key) / "tmp").mkdir(parents=True)
        return self.artifact()

    def first_run(self) -> tuple[tuple[str, ...], Path] | None:
        """The untimed step before each first run (fresh unpack, empty runtime cache) and the
        command it prepares; None where a first run is no different from any other."""
        return None

    def runtime_cache(self) -> Path | None:
        """Where the tool extracts or builds things at run time, if anywhere."""
        return None

    def unpack_archive(self) -> Path | None:
        """The archive that ops unpack with tar, if the tool ships one."""
        return None


def _unpack_cmd(archive: Path, dest: Path) -> tuple[str, ...]:
    """A fresh unpack of `archive` into `dest`, then `sync`: the disk writeback of what tar
    wrote (seconds for thousands of files on a VM's disk) finishes before the run this
    prepares, instead of landing at random in its timing."""
    q = shlex.quote
    return _argv(
        "sh",
        "-c",
        f"rm -rf {q(str(dest))} && mkdir -p {q(str(dest))} && "
        f"tar -xf {q(str(archive))} -C {q(str(dest))} && sync",
    )


class _PackBase(Tool):
    interpreter = "bundled: the archive's CPython, inside the bundle"
    shipped = "one .tar.zst (interpreter + venv + launchers)"
    #: more `pack build` options
    options: tuple[str, ...] = ()

    def build_steps(self, cold: bool) -> list[Step]:
        cache = self.ws.cache(self.key)
        env = self.ws.base_env(
            PACK_CACHE_DIR=cache / "pack",
            UV_CACHE_DIR=cache / "uv",
            UV_FIND_LINKS=self.ws.wheelhouse,
        )
        argv = _argv(
            sys.executable,
            "-m",
            "packager.cli",
            "build",
            self.ws.src,
            "--python-archive",
            self.ws.python_archive,
            "--out",
            self.ws.out(self.key),
            "--find-links",
            self.ws.wheelhouse,
            "--offline",
            "--json",  # with the seconds of each step (`timings`)
            *self.options,
        )
        return [Step(argv, env, f"{self.label} build")]

    def artifact(self) -> Path:
        found = sorted(self.ws.out(self.key).glob(f"{APP}-*.tar.zst"))
        if len(found) != 1:
            raise BenchError(f"expected one pack archive in {self.ws.out(self.key)}, got {found}")
        return found[0]

    def _top(self) -> str:
        out = run(["tar", "-tf", self.artifact()], what="listing the pack archive").stdout
        return out.split("/", 1)[0]

    def install(self) -> Path:
        super().install()
        dest = self.ws.run_dir(self.key) / "warm"
        run(_unpack_cmd(self.artifact(), dest), what="unpacking the pack archive")
        return dest / self._top() / "bin" / APP

    def first_run(self) -> tuple[tuple[str, ...], Path]:
        dest = self.ws.run_dir(self.key) / "first"
        return _unpack_cmd(self.artifact(), dest), dest / self._top() / "bin" / APP

    def unpack_archive(self) -> Path:
        return self.artifact()

    def control_prepare(self) -> tuple[str, ...]:
        """The first run's preparation minus its point: the same unpack, into another
        folder. A warm start measured after it sees the machine as a first run does (page
        cache, CPU caches, disk writeback just disturbed), so the first-run target compares
        like with like; back-to-back warm runs are faster on a busy VM than any run that
        follows other work, first or not."""
        return _unpack_cmd(self.artifact(), self.ws.run_dir(self.key) / "control")

    def bundle_root(self) -> Path:
        return self.ws.run_dir(self.key) / "warm" / self._top()


class Pack(_PackBase):
    key = "pack"
    label = "pack"


class PackSlim(_PackBase):
    key = "pack-slim"
    label = "pack --strip slim"
    options = ("--strip", "slim")
    note = (
        "the slim preset: no tests, IDLE, tkinter, ensurepip, lib2to3, pip, C headers or "
        "stdlib sources"
    )


class PackRelease(_PackBase):
    key = "pack-release"
    label = f"pack --compression-level {RELEASE_LEVEL}"
    options = ("--compression-level", str(RELEASE_LEVEL))
    note = (
        "the release preset: the same bundle as pack's, compressed at level "
        f"{RELEASE_LEVEL}; the runtime and locked-package segments are compressed once per "
        "cache (cold builds pay it), warm rebuilds only the app's part; runs like pack's"
    )
    timed_runs = False


class _Zipapp(Tool):
    """A zipapp that unpacks into a runtime cache named by an environment variable on its
    first run: the benchmark points it at a folder of its own and empties it for first runs."""

    suffix = ""
    root_var = ""

    def artifact(self) -> Path:
        return self.ws.out(self.key) / f"{APP}{self.suffix}"

    def runtime_cache(self) -> Path:
        return self.ws.run_dir(self.key) / self.root_var.lower()

    def run_env(self, sandbox: bool = False) -> dict[str, str]:
        env = super().run_env(sandbox)
        sandboxed = f"/tmp/{self.root_var.lower()}"
        env[self.root_var] = sandboxed if sandbox else str(self.runtime_cache())
        return env

    def first_run(self) -> tuple[tuple[str, ...], Path]:
        q = shlex.quote(str(self.runtime_cache()))
        return _argv("sh", "-c", f"rm -rf {q}"), self.artifact()


class _Pex(_Zipapp):
    interpreter = "host: the archive's CPython, unpacked, named in the shebang"
    venv_mode = False
    suffix = ".pex"
    root_var = "PEX_ROOT"

    def build_steps(self, cold: bool) -> list[Step]:
        py = self.ws.python()
        env = self.ws.base_env(PEX_ROOT=self.ws.cache(self.key) / "pex_root")
        argv = _argv(
            self.ws.tools / "bin" / "pex",
            "-r",
            self.ws.requirements,
            "-D",
            self.ws.src / "src",
            "-e",
            ENTRY,
            "--python",
            py,
            "--python-shebang",
            py,
            "--no-pypi",
            "-f",
            self.ws.wheelhouse,
            *(["--venv"] if self.venv_mode else []),
            "-o",
            self.artifact(),
        )
        return [Step(argv, env, f"{self.label} build")]


class PexZipapp(_Pex):
    key = "pex"
    label = "pex (zipapp)"
    shipped = "one .pex zipapp (needs a Python 3.11 on the host)"
    note = "defaults: no bytecode in the pex; the first run unpacks wheels into PEX_ROOT"


class PexVenv(_Pex):
    key = "pex-venv"
    label = "pex --venv"
    shipped = "one .pex zipapp (needs a Python 3.11 on the host)"
    note = "the first run builds a venv in PEX_ROOT, later runs exec into it"
    venv_mode = True


class Shiv(_Zipapp):
    key = "shiv"
    suffix = ".pyz"
    root_var = "SHIV_ROOT"
    label = "shiv"
    interpreter = "host: the archive's CPython, unpacked, named in the shebang"
    shipped = "one .pyz zipapp (needs a Python 3.11 on the host)"
    note = "defaults: the first run extracts site-packages into SHIV_ROOT"

    def build_steps(self, cold: bool) -> list[Step]:
        env = self.ws.base_env(PIP_CACHE_DIR=self.ws.cache(self.key) / "pip")
        argv = _argv(
            self.ws.tools / "bin" / "shiv",
            "--site-packages",
            self.ws.src / "src",
            "-e",
            ENTRY,
            "-p",
            self.ws.python(),
            "-o",
            self.artifact(),
            "-r",
            self.ws.requirements,
            "--no-index",
            "--find-links",
            self.ws.wheelhouse,
        )
        return [Step(argv, env, "shiv build")]


class _PyInstaller(Tool):
    interpreter = "bundled: the archive's CPython, frozen in"
    mode = ""
    slow_build = True
    #: more PyInstaller options
    options: tuple[str, ...] = ()

    @property
    def venv(self) -> Path:
        return self.ws.cache(self.key) / "venv"

    def cold_note(self) -> str:
        return (
            f"{super().cold_note()}; uv venv $W/cache/{self.key}/venv and uv pip install "
            "PyInstaller into it from $W/toolwheels"
        )

    def prime(self) -> None:
        env = self.ws.base_env(UV_CACHE_DIR=self.ws.root / "uv-tools-cache")
        pin = next(p for p in peer_pins() if p.startswith("pyinstaller=="))
        run(
            [self.ws.uv, "venv", "-q", "--python", self.ws.python(), self.venv],
            what="creating PyInstaller's venv",
            env=env,
        )
        run(
            [
                self.ws.uv,
                "pip",
                "install",
                "-q",
                "--python",
                self.venv / "bin" / "python",
                "--offline",
                "--no-index",
                "--find-links",
                self.ws.toolwheels,
                pin,
            ],
            what="installing PyInstaller into its venv",
            env=env,
        )

    def _pyinstaller(self) -> Step:
        cache = self.ws.cache(self.key)
        env = self.ws.base_env(PYINSTALLER_CONFIG_DIR=cache / "config")
        argv = _argv(
            self.venv / "bin" / "pyinstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            f"--{self.mode}",
            "--name",
            APP,
            "--paths",
            self.ws.src / "src",
            "--distpath",
            self.ws.out(self.key) / "dist",
            "--workpath",
            cache / "work",
            "--specpath",
            cache / "spec",
            *self.options,
            self.ws.pyi_entry,
        )
        return Step(argv, env, f"{self.label} build")

    def build_steps(self, cold: bool) -> list[Step]:
        steps = []
        if cold:
            # The venv PyInstaller analyses must hold the locked dependencies: installing them
            # is part of a cold build (a warm one finds them installed).
            env = self.ws.base_env(UV_CACHE_DIR=self.ws.cache(self.key) / "uv")
            steps.append(
                Step(
                    _argv(
                        self.ws.uv,
                        "pip",
                        "install",
                        "-q",
                        "--python",
                        self.venv / "bin" / "python",
                        "--offline",
                        "--no-index",
                        "--find-links",
                        self.ws.wheelhouse,
                        "-r",
                        self.ws.requirements,
                    ),
                    env,
                    "installing the lock into PyInstaller's venv",
                )
            )
        steps.append(self._pyinstaller())
        return steps


class PyInstallerOnedir(_PyInstaller):
    key = "pyi-onedir"
    label = "PyInstaller --onedir"
    mode = "onedir"
    shipped = f"the folder as .tar.zst (zstd -{PACK_ZSTD_LEVEL}, part of the build)"

    def build_steps(self, cold: bool) -> list[Step]:
        q = shlex.quote
        dist = self.ws.out(self.key) / "dist"
        tar = (
            f"tar -cf - -C {q(str(dist))} {APP} | zstd -q -{PACK_ZSTD_LEVEL} -T0 -f "
            f"-o {q(str(self.artifact()))}"
        )
        return [
            *super().build_steps(cold),
            Step(_argv("sh", "-c", tar), self.ws.base_env(), "archiving the onedir"),
        ]

    def artifact(self) -> Path:
        return self.ws.out(self.key) / f"{APP}.tar.zst"

    def install(self) -> Path:
        super().install()
        dest = self.ws.run_dir(self.key) / "warm"
        run(_unpack_cmd(self.artifact(), dest), what="unpacking the onedir archive")
        return dest / APP / APP

    def first_run(self) -> tuple[tuple[str, ...], Path]:
        dest = self.ws.run_dir(self.key) / "first"
        return _unpack_cmd(self.artifact(), dest), dest / APP / APP

    def unpack_archive(self) -> Path:
        return self.artifact()


class PyInstallerOnedirStrip(PyInstallerOnedir):
    key = "pyi-onedir-strip"
    label = "PyInstaller --onedir --strip"
    options = ("--strip",)
    note = "strip run on the frozen binaries and libraries"


class PyInstallerOnefile(_PyInstaller):
    key = "pyi-onefile"
    label = "PyInstaller --onefile"
    mode = "onefile"
    shipped = "one executable"
    note = "every run extracts itself into $TMPDIR/_MEIxxxx and removes it at exit"

    def artifact(self) -> Path:
        return self.ws.out(self.key) / "dist" / APP

    def runtime_cache(self) -> Path:
        return self.ws.run_dir(self.key) / "tmp"

    def first_run(self) -> tuple[tuple[str, ...], Path]:
        q = shlex.quote(str(self.runtime_cache()))
        return _argv("sh", "-c", f"rm -rf {q} && mkdir -p {q}"), self.artifact()


class PlainVenv(Tool):
    key = "venv"
    label = "plain venv (baseline)"
    interpreter = "host: the archive's CPython, unpacked (the venv's home)"
    shipped = "nothing shippable: a venv holds absolute paths (size is its folder)"
    note = "uv venv + uv pip install --compile-bytecode; run through its console script"

    @property
    def venv(self) -> Path:
        return self.ws.out(self.key) / "venv"

    def build_steps(self, cold: bool) -> list[Step]:
        env = self.ws.base_env(UV_CACHE_DIR=self.ws.cache(self.key) / "uv")
        pip = _argv(
            self.ws.uv,
            "pip",
            "install",
            "-q",
            "--python",
            self.venv / "bin" / "python",
            "--offline",
            "--no-index",
            "--find-links",
            self.ws.wheelhouse,
            "--compile-bytecode",
        )
        app = (*pip, "--no-deps", "--reinstall-package", APP, os.fspath(self.ws.src))
        if not cold:
            return [Step(app, env, "reinstalling the app into the venv")]
        return [
            Step(
                _argv(self.ws.uv, "venv", "-q", "--python", self.ws.python(), self.venv),
                env,
                "creating the venv",
            ),
            Step((*pip, "-r", os.fspath(self.ws.requirements)), env, "installing the lock"),
            Step(app, env, "installing the app"),
        ]

    def artifact(self) -> Path:
        return self.venv

    def install(self) -> Path:
        super().install()
        return self.venv / "bin" / APP

    def floor(self) -> tuple[str, ...]:
        return _argv(self.venv / "bin" / "python", "-I", "-c", "import httpx, rich, click")


ALL: tuple[type[Tool], ...] = (
    Pack,
    PackSlim,
    PackRelease,
    PexZipapp,
    PexVenv,
    Shiv,
    PyInstallerOnedir,
    PyInstallerOnedirStrip,
    PyInstallerOnefile,
    PlainVenv,
)


def abbreviate(text: str, ws: Workspace) -> str:
    """Workspace, repository and archive paths as the report writes them."""
    text = text.replace(str(ws.python_archive), "$PYTHON_ARCHIVE")
    return text.replace(str(ws.root), "$W").replace(str(REPO), "$REPO")


def display(argv: Sequence[str], ws: Workspace, env: dict[str, str] | None = None) -> str:
    """A command as the report shows it, with the variables it sets beyond the base
    environment (Workspace.base_env) in front."""
    base = ws.base_env()
    extra = {k: v for k, v in (env or {}).items() if base.get(k) != v}
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in sorted(extra.items()))
    return abbreviate(prefix + shlex.join(argv), ws)


def pack_result(stdout: str) -> dict[str, object]:
    return json.loads(stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
