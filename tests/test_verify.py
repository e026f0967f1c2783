"""`pack verify`: a clean bundle passes; each kind of tampering (a changed byte, a removed file,
an added file, a retargeted symlink) fails with the path named, in a directory and inside an
archive; the archive's `.sha256` is checked when present."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from packager.bundlearchive import ArchiveOptions, Format, write_archive
from packager.cli import main
from packager.errors import ChecksumError
from packager.verify import verify_bundle
from tests.helpers.synthetic import SITE, TOP, make_bundle


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "staging" / TOP)


def change_a_byte(root: Path) -> str:
    path = root / SITE / "six.py"
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    return f"modified    {SITE}/six.py"


def remove_a_file(root: Path) -> str:
    (root / "python" / "lib" / "python3.11" / "os.py").unlink()
    return "missing     python/lib/python3.11/os.py"


def add_a_file(root: Path) -> str:
    (root / SITE / "evil.pth").write_text("import os\n")
    return f"unexpected  {SITE}/evil.pth"


def retarget_a_symlink(root: Path) -> str:
    link = root / "venv" / "bin" / "python"
    link.unlink()
    link.symlink_to("../../python/bin/python3")
    return "modified    venv/bin/python"


def make_executable(root: Path) -> str:
    (root / "venv" / "pyvenv.cfg").chmod(0o755)
    return "modified    venv/pyvenv.cfg"


TAMPERING: list[Callable[[Path], str]] = [
    change_a_byte,
    remove_a_file,
    add_a_file,
    retarget_a_symlink,
    make_executable,
]


@pytest.mark.parametrize("fmt", ["tar.zst", "tar.gz", "tar.xz", "dir"])
def test_clean_bundle_passes(
    bundle: Path, tmp_path: Path, fmt: Format, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "dist" / (f"app.{fmt}" if fmt != "dir" else "app")
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format=fmt))
    result = verify_bundle(dest)
    assert result.ok and result.report.ok
    assert result.checksum == ("not-applicable" if fmt == "dir" else "ok")
    assert result.checked == 28  # 27 files and links, one empty directory
    assert main(["verify", str(dest)]) == 0
    captured = capsys.readouterr().out
    assert captured.endswith("ok: 28 entries match .pack/files\n")
    if fmt != "dir":
        assert f"archive     matches app.{fmt}.sha256\n" in captured


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_tampered_directory_fails_naming_the_path(
    bundle: Path, tamper: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    line = tamper(bundle)
    assert main(["verify", str(bundle)]) == 4
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [line]
    assert captured.err.startswith(f"error: {bundle} does not match what pack built (")


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_tampered_archive_fails_naming_the_path(
    bundle: Path, tmp_path: Path, tamper: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The tree is changed after its file list was written, then archived (with a fresh
    # .sha256): only the file list can tell.
    line = tamper(bundle)
    dest = tmp_path / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    assert main(["verify", str(dest)]) == 4
    assert capsys.readouterr().out.splitlines() == [line, "archive     matches app.tar.zst.sha256"]


def test_all_tampering_at_once_in_json(bundle: Path, tmp_path: Path) -> None:
    for tamper in TAMPERING:
        tamper(bundle)
    dest = tmp_path / "app.tar.gz"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format="tar.gz"))
    proc = subprocess.run(
        [sys.executable, "-m", "packager.cli", "verify", str(dest), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 4
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    assert data["modified"] == ["venv/bin/python", f"{SITE}/six.py", "venv/pyvenv.cfg"]
    assert data["missing"] == ["python/lib/python3.11/os.py"]
    assert data["unexpected"] == [f"{SITE}/evil.pth"]
    assert data["archive_sha256"]["state"] == "ok"
    assert proc.stderr == (
        f"error: {dest} does not match what pack built (3 modified, 1 missing, 1 unexpected); "
        "rebuild or re-download it\n"
    )


def test_archive_checksum_mismatch(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "app.tar.zst"
    artifact = write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    # Same contents, other bytes (another level): only the .sha256 can tell.
    sidecar = tmp_path / "app.tar.zst.sha256"
    kept = sidecar.read_text()
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(level=1))
    sidecar.write_text(kept)
    result = verify_bundle(dest)
    assert result.report.ok and not result.ok
    assert result.checksum == "mismatch"
    assert result.expected_sha256 == artifact.sha256
    assert main(["verify", str(dest)]) == 4
    out = capsys.readouterr()
    assert f"does not match app.tar.zst.sha256 ({artifact.sha256})" in out.out
    assert "archive checksum mismatch" in out.err


def test_archive_without_sidecar_is_checked_by_contents(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    (tmp_path / "app.tar.zst.sha256").unlink()
    result = verify_bundle(dest)
    assert result.ok and result.checksum == "absent"


def test_renamed_archive_still_matches_its_single_line_sidecar(
    bundle: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    dest.rename(tmp_path / "renamed.tar.zst")
    (tmp_path / "app.tar.zst.sha256").rename(tmp_path / "renamed.tar.zst.sha256")
    assert verify_bundle(tmp_path / "renamed.tar.zst").checksum == "ok"


def test_malformed_sidecar_is_an_error(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    (tmp_path / "app.tar.zst.sha256").write_text("not a checksum\n")
    with pytest.raises(ChecksumError) as err:
        verify_bundle(dest)
    assert str(err.value) == (
        f"{dest}.sha256 line 1 is not `<64 hex digits>  <file>`; re-download it or delete it"
    )


def test_bundle_without_file_list(bundle: Path) -> None:
    (bundle / ".pack" / "files").unlink()
    with pytest.raises(ChecksumError) as err:
        verify_bundle(bundle)
    assert str(err.value) == (
        f"{bundle} has no .pack/files, so there is nothing to verify it against; "
        "it is damaged or was not built by pack"
    )


def test_malformed_file_list(bundle: Path) -> None:
    with (bundle / ".pack" / "files").open("a") as f:
        f.write("{oops\n")
    with pytest.raises(ChecksumError, match=r"\.pack/files line 29: not a JSON object"):
        verify_bundle(bundle)


def test_truncated_archive(bundle: Path, tmp_path: Path) -> None:
    (bundle / "big.bin").write_bytes(os.urandom(200_000))
    dest = tmp_path / "app.tar.gz"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format="tar.gz"))
    dest.write_bytes(dest.read_bytes()[: dest.stat().st_size // 2])
    (tmp_path / "app.tar.gz.sha256").unlink()
    with pytest.raises(ChecksumError, match=r"app\.tar\.gz: not a readable tar archive"):
        verify_bundle(dest)


def test_verify_unpacks_nothing(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dist" / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "packager.cli", "verify", str(dest)],
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []
    assert sorted(p.name for p in dest.parent.iterdir()) == ["app.tar.zst", "app.tar.zst.sha256"]
