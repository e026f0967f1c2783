"""The uv gateway (packager/uvtool.py): the environment uv runs in, and installing exactly
the given files into a venv with real uv: no dependencies, no index, copies; a failure names
what was being done."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from packager.context import Context
from packager.errors import BuildError
from packager.uvtool import install_files, uv_bin, uv_env


def _wheel(dest: Path) -> Path:
    """A pure wheel of `tinydep 1.0` that requires a distribution no index has."""
    path = dest / "tinydep-1.0-py3-none-any.whl"
    info = "tinydep-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("tinydep.py", "VALUE = 42\n")
        whl.writestr(
            f"{info}/METADATA",
            "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n"
            "Requires-Dist: no-such-distribution-anywhere\n",
        )
        whl.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(
            f"{info}/RECORD", f"tinydep.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"
        )
    return path


@pytest.fixture
def venv_python(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run(
        [uv_bin(), "venv", "--no-config", "--quiet", "--python", sys.executable, venv],
        check=True,
        env={"UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(tmp_path / "uv-cache")},
    )
    return venv / "bin" / "python"


def test_uv_runs_without_what_would_redirect_it(tmp_path: Path) -> None:
    environ = {
        "PATH": "/usr/bin",
        "VIRTUAL_ENV": "/elsewhere",
        "CONDA_PREFIX": "/conda",
        "PYTHONHOME": "/home",
        "PYTHONPATH": "/path",
        "UV_SYSTEM_PYTHON": "1",
    }
    ctx = Context(cache_dir=tmp_path / "cache", environ=environ)
    assert uv_env(ctx) == {
        "PATH": "/usr/bin",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "UV_CACHE_DIR": str(tmp_path / "cache" / "uv"),
    }
    offline = Context(cache_dir=tmp_path / "cache", environ={"UV_CACHE_DIR": "/mine"}, offline=True)
    assert uv_env(offline) == {
        "UV_CACHE_DIR": "/mine",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "UV_OFFLINE": "1",
    }


def test_exactly_the_given_files_are_installed(tmp_path: Path, venv_python: Path) -> None:
    ctx = Context(cache_dir=tmp_path / "cache", environ={}, offline=True)
    install_files(ctx, venv_python, [_wheel(tmp_path)], what="installing tinydep")

    proc = subprocess.run(
        [
            venv_python,
            "-I",
            "-c",
            "import tinydep, importlib.metadata as m; "
            "print(tinydep.VALUE, [d.metadata['Name'] for d in m.distributions()])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split(" ", 1)[0] == "42"
    assert "no-such-distribution-anywhere" not in proc.stdout
    installed = next(venv_python.parent.parent.glob("lib/python3*/site-packages/tinydep.py"))
    assert not installed.is_symlink() and installed.stat().st_nlink == 1  # a copy


def test_nothing_to_install_runs_nothing(tmp_path: Path) -> None:
    ctx = Context(cache_dir=tmp_path / "cache", environ={})
    install_files(ctx, tmp_path / "no-venv" / "bin" / "python", [], what="installing nothing")
    assert not (tmp_path / "cache").exists()


def test_a_failed_install_names_what_was_being_done(tmp_path: Path, venv_python: Path) -> None:
    ctx = Context(cache_dir=tmp_path / "cache", environ={}, offline=True)
    missing = tmp_path / "gone-1.0-py3-none-any.whl"
    with pytest.raises(BuildError) as err:
        install_files(ctx, venv_python, [missing], what="installing the app's wheel")
    assert str(err.value) == (
        f"installing the app's wheel failed (exit 1): Distribution not found at: {missing.as_uri()}"
    )
