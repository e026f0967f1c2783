"""Staging the cached layers into a bundle by hard links: what an app install could write
over is copied first, so the cache entry is never written through a link."""

from __future__ import annotations

import zipfile
from pathlib import Path

from packager._fs import copy_tree
from packager.bundle import _install_targets, unshare
from packager.pythons import InterpreterArchive
from packager.runtime import Runtime

SITE = "lib/python3.11/site-packages"


def _runtime(tmp: Path) -> Runtime:
    name = "cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    archive = InterpreterArchive(
        path=tmp / name,
        sha256="ab" * 32,
        filename=name,
        version="3.11.7",
        tag="20990101",
        triple="x86_64-unknown-linux-gnu",
        flavor="install_only_stripped",
        freethreaded=False,
    )
    return Runtime(tmp, archive, "python3.11", "python3.11")


def _cached_venv(root: Path) -> Path:
    venv = root / "venv"
    for rel in (
        f"{SITE}/shared/__init__.py",
        f"{SITE}/shared/other.py",
        f"{SITE}/dep/__init__.py",
        f"{SITE}/dep-1.0.dist-info/RECORD",
        "bin/dep-tool",
        "share/man/dep.1",
    ):
        (venv / rel).parent.mkdir(parents=True, exist_ok=True)
        (venv / rel).write_text(f"cached {rel}\n")
    return venv


def _wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("shared/__init__.py", "from the app\n")
        whl.writestr("app/__init__.py", "")
        whl.writestr("app-1.0.data/data/share/man/app.1", "")
        whl.writestr("app-1.0.data/scripts/app-script", "#!python\n")
        whl.writestr("app-1.0.dist-info/RECORD", "")
    return path


def test_install_targets_are_the_wheels_top_level_names_and_bin(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    whl = _wheel(tmp_path / "app-1.0-py3-none-any.whl")
    assert _install_targets(venv, _runtime(tmp_path), [whl]) == sorted(
        {
            venv / "bin",
            venv / "share",
            venv / SITE / "shared",
            venv / SITE / "app",
            venv / SITE / "app-1.0.dist-info",
        }
    )
    sdist = tmp_path / "app-1.0.tar.gz"
    assert _install_targets(venv, _runtime(tmp_path), [whl, sdist]) == [venv]


def test_unshare_copies_only_what_the_install_may_touch(tmp_path: Path) -> None:
    cached = _cached_venv(tmp_path / "cache")
    staged = tmp_path / "bundle" / "venv"
    copy_tree(cached, staged, hardlink=True)
    assert (staged / SITE / "dep/__init__.py").stat().st_nlink == 2

    whl = _wheel(tmp_path / "app-1.0-py3-none-any.whl")
    unshare(_install_targets(staged, _runtime(tmp_path), [whl]))
    for rel in (f"{SITE}/shared/__init__.py", f"{SITE}/shared/other.py", "bin/dep-tool"):
        assert (staged / rel).stat().st_nlink == 1, rel
        assert (staged / rel).read_text() == f"cached {rel}\n"
    for rel in (f"{SITE}/dep/__init__.py", f"{SITE}/dep-1.0.dist-info/RECORD"):
        assert (staged / rel).stat().st_nlink == 2, rel
    # Writing in place now changes only the bundle.
    (staged / SITE / "shared/__init__.py").write_text("from the app\n")
    assert (
        cached / SITE / "shared/__init__.py"
    ).read_text() == f"cached {SITE}/shared/__init__.py\n"
