"""bench/work/: where everything the benchmark makes lives, and its one-time setup (untimed):
the interpreter unpacked from the archive pack is given, the peers' own environment, the
lock exported as hashed requirements, and a local wheelhouse so no build downloads."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from .proc import BenchError, run

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = BENCH / "sample"
PEERS = BENCH / "peers.txt"

# PyInstaller needs a script, not an entry point.
PYI_ENTRY = "from benchapp.cli import main\n\nmain()\n"
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TERM", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass(frozen=True)
class Workspace:
    root: Path
    python_archive: Path

    @property
    def uv(self) -> Path:
        return Path(find_uv_bin())

    @property
    def interp_dir(self) -> Path:
        return self.root / "interp"

    @property
    def tools(self) -> Path:
        return self.root / "tools"

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    @property
    def toolwheels(self) -> Path:
        return self.root / "toolwheels"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def src(self) -> Path:
        """The sample app the builds read: a copy, since warm builds edit a line of it."""
        return self.root / "src" / "benchapp"

    @property
    def pyi_entry(self) -> Path:
        return self.root / "src" / "pyi-entry.py"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def cache(self, tool: str) -> Path:
        return self.root / "cache" / tool

    def out(self, tool: str) -> Path:
        return self.root / "out" / tool

    def run_dir(self, tool: str) -> Path:
        return self.root / "run" / tool

    def scratch(self, name: str) -> Path:
        return self.root / "scratch" / name

    def python(self) -> Path:
        """The interpreter of the archive, unpacked: every peer builds with it."""
        found = sorted((self.interp_dir / "python" / "bin").glob("python3.*"))
        found = [p for p in found if re.fullmatch(r"python3\.\d+", p.name)]
        if not found:
            raise BenchError(f"no python3.X in {self.interp_dir}/python/bin")
        return found[0]

    def base_env(self, **extra: str | os.PathLike[str]) -> dict[str, str]:
        """A clean environment for builds and runs: nothing of the caller's Python, pip, uv or
        pex settings (this machine sets PYTHONDONTWRITEBYTECODE and pip find-links, which
        would change what the tools do), HOME inside the workspace, pip's config off."""
        env = {k: v for k, v in os.environ.items() if k in _KEEP_ENV}
        env.setdefault("PATH", "/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        env["HOME"] = str(self.home)
        env["TMPDIR"] = str(self.root / "tmp")
        env["PIP_CONFIG_FILE"] = os.devnull
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["PIP_NO_INPUT"] = "1"
        env["UV_NO_CONFIG"] = "1"
        env["UV_PYTHON_DOWNLOADS"] = "never"
        env["UV_NO_PROGRESS"] = "1"
        env.update({k: os.fspath(v) for k, v in extra.items()})
        return env


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _stamped(stamp: Path, key: str) -> bool:
    return stamp.is_file() and stamp.read_text() == key


def setup(ws: Workspace, say: Callable[[str], None]) -> None:
    """Make everything the builds need; skips each step whose inputs did not change."""
    for d in (ws.root, ws.home, ws.root / "tmp"):
        d.mkdir(parents=True, exist_ok=True)
    archive_key = _digest(ws.python_archive.read_bytes())
    stamp = ws.root / "interp.stamp"
    if not _stamped(stamp, archive_key):
        say(f"setup: unpacking {ws.python_archive.name} and compiling its standard library")
        shutil.rmtree(ws.interp_dir, ignore_errors=True)
        ws.interp_dir.mkdir(parents=True)
        run(
            ["tar", "-xf", ws.python_archive, "-C", ws.interp_dir], what="unpacking the interpreter"
        )
        py = ws.python()
        stdlib = py.parent.parent / "lib" / py.name
        # A python-build-standalone tree ships bytecode; one made from the local interpreter
        # may not, and the floor must not pay for compiling the standard library.
        run(
            [py, "-m", "compileall", "-q", "-j", "0", stdlib],
            what="compiling the stdlib",
            env=ws.base_env(),
            check=False,
        )
        stamp.write_text(archive_key)
    py = ws.python()

    tools_key = _digest(archive_key.encode(), PEERS.read_bytes())
    stamp = ws.root / "tools.stamp"
    if not _stamped(stamp, tools_key):
        say(f"setup: installing {', '.join(peer_pins())} from PyPI into {ws.tools}")
        shutil.rmtree(ws.tools, ignore_errors=True)
        shutil.rmtree(ws.toolwheels, ignore_errors=True)
        env = _online_env()
        run(
            [ws.uv, "venv", "-q", "--python", py, ws.tools],
            what="creating the peers' venv",
            env=env,
        )
        run(
            [ws.uv, "pip", "install", "-q", "--python", ws.tools / "bin" / "python", "-r", PEERS],
            what="installing the peers",
            env=env,
        )
        # PyInstaller must live in the venv it analyses: keep its wheels for offline installs.
        pyi = next(p for p in peer_pins() if p.startswith("pyinstaller=="))
        run(
            [
                ws.tools / "bin" / "python",
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary",
                ":all:",
                "-d",
                ws.toolwheels,
                pyi,
            ],
            what="downloading PyInstaller's wheels",
            env=env,
        )
        stamp.write_text(tools_key)

    lock = SAMPLE / "uv.lock"
    wheel_key = _digest(
        tools_key.encode(), lock.read_bytes(), (SAMPLE / "pyproject.toml").read_bytes()
    )
    stamp = ws.root / "wheelhouse.stamp"
    if not _stamped(stamp, wheel_key):
        say("setup: exporting the lock to requirements.txt and filling the wheelhouse from PyPI")
        shutil.rmtree(ws.wheelhouse, ignore_errors=True)
        env = _online_env()
        run(
            [
                ws.uv,
                "export",
                "--project",
                SAMPLE,
                "--frozen",
                "--no-emit-project",
                "--no-dev",
                "--no-header",
                "--format",
                "requirements-txt",
                "-q",
                "-o",
                ws.requirements,
            ],
            what="exporting uv.lock",
            env=env,
        )
        pip: list[str | os.PathLike[str]] = [
            ws.tools / "bin" / "python",
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary",
            ":all:",
            "-d",
            ws.wheelhouse,
        ]
        run(
            [*pip, "--no-deps", "-r", ws.requirements],
            what="downloading the locked wheels",
            env=env,
        )
        # The sample's build backend, so that every tool can build it offline.
        run([*pip, "hatchling"], what="downloading hatchling", env=env)
        stamp.write_text(wheel_key)

    shutil.rmtree(ws.src.parent, ignore_errors=True)
    shutil.copytree(SAMPLE, ws.src, ignore=shutil.ignore_patterns("__pycache__", ".venv", "dist"))
    ws.pyi_entry.write_text(PYI_ENTRY)


def _online_env() -> dict[str, str]:
    """Setup downloads from PyPI with the machine's own settings (proxies, certificates)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def peer_pins() -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in PEERS.read_text().splitlines())
    return [ln for ln in lines if ln]


def bump_sample(ws: Workspace, n: int) -> None:
    """The one-line change before each build: the BENCH_MARK constant of the app's CLI."""
    cli = ws.src / "src" / "benchapp" / "cli.py"
    text, count = re.subn(r"(?m)^BENCH_MARK = \d+", f"BENCH_MARK = {n}", cli.read_text())
    if count != 1:
        raise BenchError(f"{cli}: expected one BENCH_MARK line to change")
    cli.write_text(text)


def installed_versions(ws: Workspace) -> dict[str, str]:
    proc = run(
        [ws.uv, "pip", "list", "--python", ws.tools / "bin" / "python", "--format", "json"],
        what="listing the peers' versions",
        env=ws.base_env(),
    )
    return {p["name"].lower(): p["version"] for p in json.loads(proc.stdout)}


def wheelhouse_versions(ws: Workspace) -> dict[str, str]:
    out = {}
    for whl in sorted(ws.wheelhouse.glob("*.whl")):
        name, version = whl.name.split("-")[:2]
        out[name.lower().replace("_", "-")] = version
    return out
