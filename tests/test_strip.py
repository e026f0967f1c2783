"""`strip`: known stdlib parts leave the staged runtime, by unlinking only (the staged files
are hard links into the cache, which must not change); unknown names get a "did you mean"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pack_runtime.filelist import scan_tree
from packager._fs import copy_tree
from packager.errors import BuildError, ConfigError
from packager.extract import safe_extract
from packager.runtime import compile_tree
from packager.strip import PRESETS, STRIPPABLE, apply_strip, check_strip_names, expand_strip

PBS_FILES = [
    "bin/python3.11",
    "bin/idle3",
    "bin/idle3.11",
    "bin/2to3",
    "bin/2to3-3.11",
    "bin/pip3",
    "bin/pip3.11",
    "lib/libpython3.11.so.1.0",
    "lib/tcl8.6/init.tcl",
    "lib/tk8.6/tk.tcl",
    "lib/itcl4.2.3/itcl.tcl",
    "lib/thread2.8.8/thread.tcl",
    "lib/python3.11/os.py",
    "lib/python3.11/turtle.py",
    "lib/python3.11/__pycache__/turtle.cpython-311.pyc",
    "lib/python3.11/__pycache__/os.cpython-311.pyc",
    "lib/python3.11/test/__init__.py",
    "lib/python3.11/test/support/__init__.py",
    "lib/python3.11/unittest/__init__.py",
    "lib/python3.11/unittest/test/test_case.py",
    "lib/python3.11/ctypes/__init__.py",
    "lib/python3.11/ctypes/test/test_x.py",
    "lib/python3.11/lib2to3/__init__.py",
    "lib/python3.11/lib2to3/tests/data/x.py",
    "lib/python3.11/idlelib/__init__.py",
    "lib/python3.11/idlelib/idle_test/test_x.py",
    "lib/python3.11/tkinter/__init__.py",
    "lib/python3.11/turtledemo/__main__.py",
    "lib/python3.11/ensurepip/_bundled/pip-23.2.1-py3-none-any.whl",
    "lib/python3.11/pydoc_data/topics.py",
    "lib/python3.11/distutils/__init__.py",
    "lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/_ctypes_test.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/xxlimited.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/site-packages/README.txt",
    "lib/python3.11/site-packages/pip/__init__.py",
    "lib/python3.11/site-packages/pip-23.2.1.dist-info/RECORD",
    "lib/python3.11/site-packages/test/__init__.py",  # someone's package called `test`
    "lib/python3.11/site-packages/mypkg/tests/t.py",
]


def make_cache_tree(root: Path) -> Path:
    for rel in PBS_FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
        path.chmod(0o755 if rel.startswith("bin/") else 0o644)
    (root / "bin" / "python3").symlink_to("python3.11")
    (root / "bin" / "pip").symlink_to("pip3")
    return root


@pytest.fixture
def staged(tmp_path: Path) -> tuple[Path, Path]:
    """(cache tree, staged copy made of hard links to it)."""
    cache = make_cache_tree(tmp_path / "cache" / "python")
    stage = tmp_path / "stage" / "python"
    copy_tree(cache, stage, hardlink=True)
    assert (stage / "lib/python3.11/os.py").stat().st_ino == (
        cache / "lib/python3.11/os.py"
    ).stat().st_ino
    return cache, stage


def remaining(root: Path) -> set[str]:
    return {e.path for e in scan_tree(root)}


def test_every_part_and_the_cache_is_untouched(staged: tuple[Path, Path]) -> None:
    cache, stage = staged
    before = scan_tree(cache)
    parts = [n for n in STRIPPABLE if n not in ("headers", "sources")]  # tested below
    removed = apply_strip(stage, parts, "3.11")
    assert removed == [
        "bin/2to3",
        "bin/2to3-3.11",
        "bin/idle3",
        "bin/idle3.11",
        "bin/pip",
        "bin/pip3",
        "bin/pip3.11",
        "lib/itcl4.2.3",
        "lib/python3.11/__pycache__/turtle.cpython-311.pyc",
        "lib/python3.11/ctypes/test",
        "lib/python3.11/distutils",
        "lib/python3.11/ensurepip",
        "lib/python3.11/idlelib",
        "lib/python3.11/idlelib/idle_test",
        "lib/python3.11/lib-dynload/_ctypes_test.cpython-311-x86_64-linux-gnu.so",
        "lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
        "lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so",
        "lib/python3.11/lib-dynload/xxlimited.cpython-311-x86_64-linux-gnu.so",
        "lib/python3.11/lib2to3",
        "lib/python3.11/lib2to3/tests",
        "lib/python3.11/pydoc_data",
        "lib/python3.11/site-packages/pip",
        "lib/python3.11/site-packages/pip-23.2.1.dist-info",
        "lib/python3.11/test",
        "lib/python3.11/tkinter",
        "lib/python3.11/turtle.py",
        "lib/python3.11/turtledemo",
        "lib/python3.11/unittest/test",
        "lib/tcl8.6",
        "lib/thread2.8.8",
        "lib/tk8.6",
    ]
    assert remaining(stage) == {
        "bin/python3",
        "bin/python3.11",
        "lib/libpython3.11.so.1.0",
        "lib/python3.11/__pycache__/os.cpython-311.pyc",
        "lib/python3.11/ctypes/__init__.py",
        "lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so",
        "lib/python3.11/os.py",
        "lib/python3.11/site-packages/README.txt",
        "lib/python3.11/site-packages/mypkg/tests/t.py",
        "lib/python3.11/site-packages/test/__init__.py",
        "lib/python3.11/unittest/__init__.py",
    }
    # The cache keeps every name, byte and mode.
    assert scan_tree(cache) == before


def test_only_the_named_parts(staged: tuple[Path, Path]) -> None:
    _, stage = staged
    assert apply_strip(stage, ["idlelib"], "python3.11") == [
        "bin/idle3",
        "bin/idle3.11",
        "lib/python3.11/idlelib",
    ]
    assert "lib/python3.11/tkinter/__init__.py" in remaining(stage)
    # Stripping again finds nothing left to remove.
    assert apply_strip(stage, ["idlelib"], "3.11") == []


def test_free_threaded_stdlib_folder(tmp_path: Path) -> None:
    root = tmp_path / "python"
    (root / "lib" / "python3.13t" / "tkinter").mkdir(parents=True)
    (root / "lib" / "python3.13t" / "tkinter" / "__init__.py").write_text("")
    assert apply_strip(root, ["tkinter"], "3.13t") == ["lib/python3.13t/tkinter"]


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as err:
        check_strip_names(["tkinter", "tests"])
    assert str(err.value) == (
        "[tool.pack] strip: unknown part 'tests'; did you mean 'test'? known parts: distutils, "
        "ensurepip, headers, idlelib, lib2to3, pip, pydoc_data, sources, test, tkinter, turtle, "
        "turtledemo; presets: none, slim"
    )
    with pytest.raises(ConfigError, match=r"unknown part 'numpy'; known parts: "):
        check_strip_names(["numpy"])


def test_unknown_name_removes_nothing(staged: tuple[Path, Path]) -> None:
    _, stage = staged
    before = remaining(stage)
    with pytest.raises(ConfigError):
        apply_strip(stage, ["idlelib", "tkinterr"], "3.11")
    assert remaining(stage) == before


def test_wrong_layout_is_a_build_error(tmp_path: Path) -> None:
    (tmp_path / "python").mkdir()
    with pytest.raises(BuildError) as err:
        apply_strip(tmp_path / "python", ["test"], "3.12")
    assert str(err.value) == (
        f"cannot strip the standard library: {tmp_path}/python/lib/python3.12 is not a folder; "
        "the interpreter archive does not have the python-build-standalone layout"
    )


@pytest.mark.slow
def test_stripped_real_interpreter_still_runs(python_archive: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    safe_extract(python_archive, cache)
    stage = tmp_path / "stage" / "python"
    copy_tree(cache / "python", stage, hardlink=True)
    exe = next(p for p in sorted((stage / "bin").glob("python3.*")) if not p.is_symlink())
    stdlib = f"python{exe.name.removeprefix('python')}"
    removed = apply_strip(stage, ["tkinter", "idlelib", "ensurepip", "pydoc_data"], stdlib)
    assert f"lib/{stdlib}/tkinter" in removed and f"lib/{stdlib}/ensurepip" in removed
    assert (cache / "python" / "lib" / stdlib / "tkinter").is_dir()
    code = (
        "import json, ssl, sqlite3, importlib.util as u;"
        "print(u.find_spec('tkinter') is None, u.find_spec('ensurepip') is None)"
    )
    proc = subprocess.run([str(exe), "-I", "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "True"]


def test_slim_expands_to_its_parts_once_in_order() -> None:
    assert expand_strip(["test", "slim", "distutils"]) == (
        "test",
        *[p for p in PRESETS["slim"] if p != "test"],
        "distutils",
    )
    assert "distutils" not in PRESETS["slim"]  # apps still import it on 3.11
    with pytest.raises(ConfigError, match="unknown part 'slimm'; did you mean 'slim'"):
        expand_strip(["slimm"])


def test_headers_and_sources(staged: tuple[Path, Path]) -> None:
    cache, stage = staged
    (cache / "include/python3.11").mkdir(parents=True)
    (cache / "include/python3.11/Python.h").write_text("/* */")
    copy_tree(cache / "include", stage / "include", hardlink=True)
    before = scan_tree(cache)
    removed = apply_strip(stage, ["headers", "sources"], "3.11")
    assert removed == ["include", "lib/python3.11/**/*.py (2 sources with bytecode)"]
    left = remaining(stage)
    # Modules with bytecode: the bytecode where the source was, the source gone.
    assert {"lib/python3.11/os.pyc", "lib/python3.11/turtle.pyc"} <= left
    assert not {"lib/python3.11/os.py", "lib/python3.11/turtle.py"} & left
    assert not any("__pycache__" in p for p in left)
    assert (stage / "lib/python3.11/os.pyc").read_text() == (
        "lib/python3.11/__pycache__/os.cpython-311.pyc"
    )
    # Without bytecode, or in site-packages: untouched.
    assert {
        "lib/python3.11/unittest/__init__.py",
        "lib/python3.11/site-packages/pip/__init__.py",
    } <= left
    assert scan_tree(cache) == before


@pytest.mark.slow
def test_slim_real_interpreter_runs_without_sources(python_archive: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    safe_extract(python_archive, cache)
    exe = next(p for p in sorted((cache / "python/bin").glob("python3.*")) if not p.is_symlink())
    stdlib = f"python{exe.name.removeprefix('python')}"
    compile_tree(exe, [cache / "python/lib" / stdlib], cache / "python", what="the test")
    before = scan_tree(cache)
    stage = tmp_path / "stage" / "python"
    copy_tree(cache / "python", stage, hardlink=True)
    staged_exe = stage / "bin" / exe.name
    apply_strip(stage, ["slim"], stdlib)
    code = (
        "import os, json, ssl, sqlite3, asyncio, email.message, http.client, decimal, zlib, "
        "ctypes, logging, importlib.util as u\n"
        "print(json.__file__.endswith('.pyc'), u.find_spec('tkinter') is None,"
        " u.find_spec('ensurepip') is None)\n"
        "try:\n    json.loads('{')\nexcept ValueError as e:\n    print(type(e).__name__)\n"
    )
    proc = subprocess.run(
        [str(staged_exe), "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["True", "True", "True", "JSONDecodeError"]
    assert not list((stage / "lib" / stdlib).rglob("json/*.py"))
    assert not (stage / "include").exists()
    assert scan_tree(cache) == before


def test_build_strip_option_is_checked_like_the_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "packager.cli", "build", str(tmp_path), "--strip", "slimm"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {tmp_path / 'pyproject.toml'}: [tool.pack] strip: unknown part 'slimm'; did "
        "you mean 'slim'? known parts: distutils, ensurepip, headers, idlelib, lib2to3, pip, "
        "pydoc_data, sources, test, tkinter, turtle, turtledemo; presets: none, slim"
    )
    assert not (tmp_path / "dist").exists()
