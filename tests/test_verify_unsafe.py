"""What no bundle may hold, whatever its `.pack/files` says: each tamper below regenerates the
file list so the bundle is self-consistent, and `pack verify` (archive and tree) and
`self verify` must still report it."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from tests.helpers.stub import stub
from tests.helpers.synthetic import SITE, TOP, make_bundle, runnable_bundle


def setuid_interpreter(root: Path) -> str:
    exe = next((root / "python" / "bin").glob("python3*"))
    exe = exe if not exe.is_symlink() else exe.parent / exe.readlink()
    exe.chmod(0o4755)
    return f"{exe.relative_to(root).as_posix()} (mode 4755: setuid)"


def world_writable(root: Path) -> str:
    (root / "venv" / "pyvenv.cfg").chmod(0o666)
    return "venv/pyvenv.cfg (mode 0666: writable by group or others)"


def sticky_dir(root: Path) -> str:
    (root / "venv" / "bin").chmod(0o1777)
    return "venv/bin (mode 1777: sticky)"


def hard_link(root: Path) -> str:
    os.link(root / "venv" / "pyvenv.cfg", root / "venv" / "pyvenv.hard")
    return "venv/pyvenv.hard (a hard link)"


def absolute_link(root: Path) -> str:
    (root / "venv" / "bin" / "host").symlink_to("/usr/bin/python3")
    return "venv/bin/host (a symlink to the absolute path '/usr/bin/python3')"


def escaping_link(root: Path) -> str:
    (root / "venv" / "out").symlink_to("../..")
    return "venv/out (a symlink out of the bundle ('../..'))"


UNSAFE: list[Callable[[Path], str]] = [
    setuid_interpreter,
    world_writable,
    sticky_dir,
    hard_link,
    absolute_link,
    escaping_link,
]


def _self_consistent(root: Path, tamper: Callable[[Path], str]) -> str:
    line = tamper(root)
    write_files_list(root)
    return line


def _tar_as_is(root: Path, dest: Path) -> Path:
    """Archive the tree keeping modes and hard links (as `tar -cf` would), not through pack's
    writer, which would normalise them away."""
    with tarfile.open(dest, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.add(root, arcname=TOP)
    return dest


def _pack_verify(source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packager.cli", "verify", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("tamper", UNSAFE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("form", ["tree", "archive"])
def test_pack_verify_reports_what_no_bundle_may_hold(
    tmp_path: Path, tamper: Callable[[Path], str], form: str
) -> None:
    root = make_bundle(tmp_path / "staging" / TOP)
    line = _self_consistent(root, tamper)
    source = root if form == "tree" else _tar_as_is(root, tmp_path / "app.tar.gz")
    proc = _pack_verify(source)
    assert proc.returncode == 4, proc.stdout
    assert f"unsafe      {line}" in proc.stdout.splitlines()
    assert proc.stderr.strip().endswith(" unsafe); rebuild or re-download it")


def test_an_unexpected_empty_directory_is_reported(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "staging" / TOP)
    (root / SITE / "planted").mkdir()
    proc = _pack_verify(root)
    assert proc.returncode == 4
    assert proc.stdout.splitlines() == [f"unexpected  {SITE}/planted"]


@pytest.mark.parametrize("tamper", UNSAFE, ids=lambda f: f.__name__)
def test_self_verify_reports_what_no_bundle_may_hold(
    tmp_path: Path, tamper: Callable[[Path], str]
) -> None:
    root = runnable_bundle(tmp_path)
    line = _self_consistent(root, tamper)
    r = stub(root, "verify")
    assert r.code == 1
    assert f"unsafe     {line}" in r.out.splitlines()
    assert " unsafe, e.g. " in r.err


def test_self_verify_does_not_run_a_planted_pth(tmp_path: Path) -> None:
    root = runnable_bundle(tmp_path)
    marker = tmp_path / "ran"
    site = next((root / "venv/lib").glob("python3*/site-packages"))
    (site / "zz_planted.pth").write_text(f"import os; open({str(marker)!r}, 'w').close()\n")
    proc = subprocess.run(
        [root / "bin/demo", "self", "verify"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "unexpected" in proc.stdout
    assert not marker.exists()
    # The same .pth does run in `self python`, a normal interpreter: the check above can fail.
    subprocess.run([root / "bin/demo", "self", "python", "-c", "pass"], check=True)
    assert marker.exists()


def test_the_file_list_records_empty_directories(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / TOP)
    (root / "empty").mkdir()
    write_files_list(root)
    assert '{"path":"empty","type":"dir"}' in (root / ".pack/files").read_text().splitlines()
