"""`pack inspect`: metadata and a size breakdown read from an archive without unpacking it;
the figures add up to the unpacked size, whatever the format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from packager.bundlearchive import ArchiveOptions, Format, write_archive
from packager.cli import main
from packager.inspect import inspect_bundle
from tests.helpers.synthetic import SITE, TOP, example_manifest, make_bundle

REPO = Path(__file__).resolve().parents[1]


def unpacked_size(root: Path, under: str = "") -> int:
    total = 0
    for folder, _dirs, files in os.walk(root / under):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = make_bundle(tmp_path / "staging" / TOP, files_list=False)
    # A file no RECORD claims (e.g. written by a post-install step).
    (root / SITE / "stray.py").write_bytes(b"# stray\n" * 300)
    # Bytecode compiled at build time, in no RECORD but belonging to its source's distribution.
    (root / SITE / "__pycache__").mkdir()
    (root / SITE / "__pycache__" / "six.cpython-311.pyc").write_bytes(b"pyc" * 100)
    (root / SITE / "app" / "__pycache__").mkdir()
    (root / SITE / "app" / "__pycache__" / "__init__.cpython-311.opt-1.pyc").write_bytes(b"p")
    write_files_list(root)
    return root


@pytest.mark.parametrize("fmt", ["tar.zst", "tar.gz", "tar.xz", "dir"])
def test_figures_add_up_to_the_unpacked_size(bundle: Path, tmp_path: Path, fmt: Format) -> None:
    dest = tmp_path / "dist" / (f"app.{fmt}" if fmt != "dir" else "app")
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format=fmt))
    result = inspect_bundle(dest)
    s = result.sizes
    assert s.total == unpacked_size(bundle)
    assert s.runtime + sum(d.size for d in s.distributions) + s.unattributed + s.rest == s.total
    assert s.runtime == unpacked_size(bundle, "python")
    assert s.site_packages + s.rest + s.runtime == s.total
    assert s.unattributed == len(b"# stray\n" * 300)
    assert result.format == fmt
    assert result.archive_size == (None if fmt == "dir" else dest.stat().st_size)
    assert result.manifest == example_manifest()
    assert result.links == 2


def test_distributions_are_attributed_by_record(bundle: Path) -> None:
    result = inspect_bundle(bundle)
    by_name = {d.name: d for d in result.sizes.distributions}
    assert sorted(by_name) == ["app", "six"]
    six = by_name["six"]
    # six.py, its .pyc, METADATA, INSTALLER, RECORD
    assert (six.version, six.files) == ("1.16.0", 5)
    info = bundle / SITE / "six-1.16.0.dist-info"
    assert six.size == 300 + (bundle / SITE / "six.py").stat().st_size + sum(
        p.stat().st_size for p in info.iterdir()
    )
    # The console script outside site-packages belongs to its distribution, not to "rest".
    assert by_name["app"].files == 9
    assert by_name["app"].size >= (bundle / "venv" / "bin" / "app").stat().st_size


def test_without_bundle_json(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "python").mkdir(parents=True)
    (root / "python" / "x").write_bytes(b"12345")
    (root / "README").write_bytes(b"abc")
    result = inspect_bundle(root)
    assert result.manifest is None
    assert (result.sizes.total, result.sizes.runtime, result.sizes.rest) == (8, 5, 3)


def test_cli_json_and_report(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "app.tar.zst"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    assert main(["inspect", str(dest), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sizes = data["sizes"]
    assert data["manifest"]["name"] == "app" and data["format"] == "tar.zst"
    parts = sizes["runtime"] + sizes["site_packages"]["total"] + sizes["rest"]
    assert parts == sizes["total"] == unpacked_size(bundle)
    assert (
        sum(d["size"] for d in sizes["site_packages"]["distributions"])
        + sizes["site_packages"]["unattributed"]
        == sizes["site_packages"]["total"]
    )

    assert main(["inspect", str(dest)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("app 1.0 for x86_64-unknown-linux-gnu\n")
    assert "  runtime (python/)" in report
    assert "    six 1.16.0" in report and "5 files" in report
    assert "  (in no RECORD)" in report
    assert "  total unpacked" in report


def test_inspect_unpacks_nothing(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dist" / "app.tar.xz"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format="tar.xz"))
    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    before = sorted(dest.parent.iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "packager.cli", "inspect", str(dest), "--json"],
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []
    assert sorted(dest.parent.iterdir()) == before


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.tar.zst")]) == 2
    assert "missing.tar.zst does not exist" in capsys.readouterr().err
