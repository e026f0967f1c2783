"""Running the self-management stub against synthetic bundles, for tests: a deployed bundle
(`<base>/opt/demo/<version>` with `current`), the stub called in this process as the
launcher calls it, archives written by pack's own writer, and crafted tarballs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pack_runtime import cli
from pack_runtime.layout import BUNDLE_JSON
from packager.bundlearchive import ArchiveOptions, Format, write_archive
from tests.helpers.synthetic import TARGET, runnable_bundle

_PYENV = Path.home() / ".pyenv" / "versions"

# The stub runs on whatever CPython the bundle carries: the oldest supported and the newest
# at hand, where this host has them.
OTHER_PYTHONS = [
    pytest.param(found[-1], id=minor)
    for minor in ("3.9", "3.13")
    if (found := sorted(_PYENV.glob(f"{minor}.*/bin/python{minor}")))
]


def archive_of(root: Path, out: Path, fmt: Format = "tar.gz", top: str | None = None) -> Path:
    """`<name>-<version>-<target>.<fmt>` with its `.sha256`, written by pack's archive writer."""
    info = json.loads((root / BUNDLE_JSON).read_text())
    top = top or f"{info['name']}-{info['version']}"
    dest = out / f"{top}-{TARGET}.{fmt}"
    out.mkdir(parents=True, exist_ok=True)
    write_archive(root, dest, top=top, options=ArchiveOptions(format=fmt))
    return dest


@dataclass
class Deployed:
    """`<base>/opt/demo/<version>/` with `current` pointing at it, as the docs lay it out."""

    app_dir: Path
    root: Path

    @property
    def current(self) -> Path:
        return self.app_dir / "current"


def deploy(base: Path, version: str = "1.0", *, link: bool = True) -> Deployed:
    app_dir = base / "opt" / "demo"
    app_dir.mkdir(parents=True)
    root = runnable_bundle(app_dir, version=version, dirname=version)
    if link:
        (app_dir / "current").symlink_to(version)
    return Deployed(app_dir, root)


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def stub(root: Path, *args: str, answer: str | None = None, **env: str) -> Result:
    """Run the stub in this process as the launcher would (same variables); `answer` is
    typed on a terminal when a question is asked."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PACK_BUNDLE_ROOT": str(root),
        "PACK_LAUNCHER": "demo",
        "PACK_SELF_COMMAND": "self",
        **env,
    }
    out, err = io.StringIO(), io.StringIO()
    stdin = _Tty(answer + "\n") if answer is not None else io.StringIO()
    code = cli.main(list(args), environ, cli.Console(out, err, stdin))
    return Result(code, out.getvalue(), err.getvalue())


def launch(launcher: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(launcher), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        check=False,
    )


def leftovers(app_dir: Path) -> list[str]:
    return sorted(p.name for p in app_dir.iterdir() if p.name.startswith("."))


def crafted_tar(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    """Write a .tar.gz of (name, kind, data-or-link-target) entries."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, value in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, value
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
            else:
                data = value.encode()
                info.size = len(data)
                info.mode = int(kind, 8) if kind.isdigit() else 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


def modify_app(root: Path) -> str:
    """Change the app's module in a runnable bundle; returns its path in the bundle."""
    path = root / "venv/lib/python3.11/site-packages/demo_app.py"
    path.write_text(path.read_text() + "# patched\n")
    return "venv/lib/python3.11/site-packages/demo_app.py"
