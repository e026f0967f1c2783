"""Ways to tamper with an unpacked compiled-app bundle, each returning the path it changed
(relative to the bundle root): `self verify` and `pack verify` must name it."""

from __future__ import annotations

from pathlib import Path


def site(root: Path) -> Path:
    return next((root / "venv/lib").glob("python3*/site-packages"))


def modify(root: Path) -> str:
    path = site(root) / "compiled_app" / "main.py"
    path.write_text(path.read_text() + "\n# tampered\n")
    return path.relative_to(root).as_posix()


def chmod(root: Path) -> str:
    path = site(root) / "compiled_app" / "__init__.py"
    path.chmod(0o755)
    return path.relative_to(root).as_posix()


def retarget(root: Path) -> str:
    link = root / "venv/bin/python"
    link.unlink()
    link.symlink_to("../../python/bin/python3")  # still runs, but not what was built
    return "venv/bin/python"


def delete(root: Path) -> str:
    (root / "bin/compiled-admin").unlink()
    return "bin/compiled-admin"


def add(root: Path) -> str:
    (site(root) / "zz_injected.pth").write_text("import os\n")
    return (site(root) / "zz_injected.pth").relative_to(root).as_posix()
