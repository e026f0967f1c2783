"""Staging the cached layers into a bundle by hard links: what an app install could write
over is copied first, so the cache entry is never written through a link."""

from __future__ import annotations

import dataclasses
import sys
import zipfile
from pathlib import Path

from packager import cache as cache_mod
from packager._fs import copy_tree
from packager.bundle import _install_targets, add_runtime_stub, unshare
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


def _stub_root(root: Path) -> Path:
    """A bundle root whose venv interpreter is this one (it compiles the stub)."""
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to(sys.executable)
    return root


def _tree(top: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(top).as_posix(): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(top.rglob("*"))
        if p.is_file()
    }


def test_the_cached_runtime_stub_is_the_stub_compiled_in_place(tmp_path: Path) -> None:
    runtime, cache = _runtime(tmp_path), tmp_path / "cache"
    plain = _stub_root(tmp_path / "plain")
    add_runtime_stub(plain, runtime)
    cached = _stub_root(tmp_path / "cached")
    add_runtime_stub(cached, runtime, cache)
    # A second bundle is linked from the cache: nothing is compiled (it has no interpreter).
    again = tmp_path / "again"
    again.mkdir()
    add_runtime_stub(again, runtime, cache)

    stub = _tree(plain / ".pack" / "runtime")
    assert any(name.endswith(".pyc") for name in stub) and "__main__.py" in stub
    assert _tree(cached / ".pack" / "runtime") == stub == _tree(again / ".pack" / "runtime")
    assert len(list((cache / cache_mod.STUBS).glob("*/.provisioned"))) == 1

    other = dataclasses.replace(
        runtime, archive=dataclasses.replace(runtime.archive, sha256="cd" * 32)
    )
    add_runtime_stub(_stub_root(tmp_path / "other"), other, cache)
    assert len(list((cache / cache_mod.STUBS).glob("*/.provisioned"))) == 2
