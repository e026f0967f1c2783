"""The relocatable venv (packager/venv.py): relative interpreter links into `python/`, a
pyvenv.cfg with no `home`, and installer records scrubbed of build-machine facts; run with a
real interpreter laid out beside it, as in a bundle."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from packager.pythons import InterpreterArchive
from packager.runtime import Runtime
from packager.venv import create_venv, scrub_install_records, site_packages
from tests.helpers.synthetic import add_dist

MINOR = "{}.{}".format(*sys.version_info[:2])


def _runtime(entry: Path) -> Runtime:
    name = f"cpython-{MINOR}.0+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz"
    archive = InterpreterArchive(
        path=entry / name,
        sha256="ab" * 32,
        filename=name,
        version=f"{MINOR}.0",
        tag="20990101",
        triple="x86_64-unknown-linux-gnu",
        flavor="install_only",
        freethreaded=False,
    )
    return Runtime(entry, archive, f"python{MINOR}", f"python{MINOR}")


def test_the_venv_reaches_the_runtime_by_relative_links_only(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    venv = tmp_path / "venv"
    create_venv(venv, runtime)

    links = {p.name: str(p.readlink()) for p in sorted((venv / "bin").iterdir())}
    target = f"../../python/bin/python{MINOR}"
    assert links == {"python": target, "python3": target, f"python{MINOR}": target}
    assert (venv / "pyvenv.cfg").read_text() == (
        f"include-system-site-packages = false\nversion = {MINOR}.0\nrelocatable = true\n"
    )
    assert site_packages(venv, runtime) == venv / "lib" / f"python{MINOR}" / "site-packages"
    assert site_packages(venv, runtime).is_dir()


@pytest.fixture(scope="module")
def unpacked_runtime(tmp_path_factory: pytest.TempPathFactory, python_archive: Path) -> Path:
    """The session's python-build-standalone-format archive, unpacked once: `<dir>/python/`."""
    dest = tmp_path_factory.mktemp("runtime")
    subprocess.run(["tar", "-xzf", python_archive, "-C", dest], check=True)
    return dest / "python"


def test_a_moved_venv_runs_with_its_runtime_and_its_own_prefix(
    tmp_path: Path, unpacked_runtime: Path
) -> None:
    """Beside a real runtime, the pair works after a move: the venv is sys.prefix, the
    runtime sys.base_prefix, found through the relative link without any `home`."""
    built = tmp_path / "built"
    built.mkdir()
    shutil.copytree(unpacked_runtime, built / "python", symlinks=True)
    exe = next((built / "python" / "bin").glob("python3.*")).name
    runtime = dataclasses.replace(_runtime(built), exe_name=exe, stdlib_name=exe)
    create_venv(built / "venv", runtime)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    built.rename(moved)

    code = "import sys; print(sys.prefix); print(sys.base_prefix)"
    proc = subprocess.run(
        [moved / "venv" / "bin" / "python", "-I", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(moved / "venv"), str(moved / "python")]


def test_install_records_that_name_the_build_machine_are_scrubbed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    add_dist(site, "clean", "1.0", {"clean.py": b"x = 1\n"})
    add_dist(site, "dirty", "2.0", {"dirty.py": b"y = 2\n"})
    info = site / "dirty-2.0.dist-info"
    (info / "direct_url.json").write_text('{"url": "file:///root/.cache/pack/wheels/dirty.whl"}')
    (info / "uv_cache.json").write_text('{"timestamp": 1700000000}')
    record = info / "RECORD"
    record.write_text(
        record.read_text()
        + "dirty-2.0.dist-info/direct_url.json,,\ndirty-2.0.dist-info/uv_cache.json,,\n"
    )
    clean_record = (site / "clean-1.0.dist-info" / "RECORD").read_text()

    assert scrub_install_records(site) == ["dirty-2.0.dist-info"]
    assert sorted(p.name for p in info.iterdir()) == ["INSTALLER", "METADATA", "RECORD"]
    paths = [line.split(",")[0] for line in record.read_text().splitlines()]
    assert paths == [
        "dirty.py",
        "dirty-2.0.dist-info/METADATA",
        "dirty-2.0.dist-info/INSTALLER",
        "dirty-2.0.dist-info/RECORD",
    ]
    assert (site / "clean-1.0.dist-info" / "RECORD").read_text() == clean_record
    assert scrub_install_records(site) == []
