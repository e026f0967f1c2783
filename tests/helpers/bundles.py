"""Running pack and the bundles it builds, for tests: the CLI as a real subprocess, archives
unpacked with the system tar, and bubblewrap sandboxes that hide every host Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

PACK = [sys.executable, "-m", "packager.cli"]
REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "apps"


def pack_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACK_", "PYTHON"))}
    env["PACK_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def run_pack(
    args: list[str], cache_dir: Path, *, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PACK, *args],
        cwd=cwd,
        env=pack_env(cache_dir, **extra),
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class Built:
    archive: Path
    name: str
    version: str
    target: str
    result: dict[str, object]
    project: Path
    cache_dir: Path

    @property
    def top(self) -> str:
        return f"{self.name}-{self.version}"


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack with the system tar (as ops do); return the bundle root."""
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".tar.zst"):
        subprocess.run(["tar", "--zstd", "-xf", archive, "-C", dest], check=True)
    else:
        subprocess.run(["tar", "-xf", archive, "-C", dest], check=True)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    assert len(tops) == 1, f"expected one top folder in {archive}, got {tops}"
    return tops[0]


def listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` with its size, mtime (ns) and mode: compared before and after a
    run to prove the run wrote nothing."""
    out: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def host_python_paths() -> list[Path]:
    """Every place a Python lives on this host, to hide under bubblewrap."""
    dirs = {Path(sys.base_prefix), Path(sys.prefix), Path(sysconfig.get_paths()["stdlib"]).parent}
    dirs |= {
        Path("/usr/lib/python3"),
        *Path("/usr/lib").glob("python3*"),
        *Path("/usr/local/lib").glob("python3*"),
    }
    home = Path.home()
    dirs |= {home / ".pyenv", home / ".local" / "lib", REPO / ".venv"}
    return sorted(d for d in dirs if d.exists())


def host_python_files() -> list[Path]:
    files: set[Path] = set()
    for bindir in (Path("/usr/bin"), Path("/usr/local/bin"), Path("/bin")):
        files |= {p for p in bindir.glob("python*") if p.exists()}
    return sorted(files)


def bwrap_argv(
    command: list[str],
    *,
    ro_bind: list[Path] = (),
    hide_python: bool = True,
    unshare_net: bool = False,
) -> list[str]:  # type: ignore[assignment]
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is required (apt-get install bubblewrap)"
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in ro_bind:
        argv += ["--ro-bind", str(path), str(path)]
    if hide_python:
        for d in host_python_paths():
            argv += ["--tmpfs", str(d)]
        for f in host_python_files():
            argv += ["--ro-bind", "/dev/null", str(f)]
    if unshare_net:
        argv.append("--unshare-net")
    return [*argv, *command]


def run_app(
    launcher: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(launcher), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd=cwd,
        check=False,
    )


def app_report(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode in (0, 7), proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
