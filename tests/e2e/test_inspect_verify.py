"""`pack inspect` and `pack verify` on a real built bundle: the archive and its unpacked tree
verify; each kind of tampering fails with the path named; inspect's figures add up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.bundles import Built, run_pack, unpack
from tests.helpers.tamper import add, chmod, delete, modify, retarget


def test_archive_and_tree_verify(built_bundle: Built, tmp_path: Path) -> None:
    proc = run_pack(["verify", str(built_bundle.archive)], built_bundle.cache_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = unpack(built_bundle.archive, tmp_path / "u")
    proc = run_pack(["verify", str(root)], built_bundle.cache_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("tamper", [modify, chmod, retarget, delete, add])
def test_tampering_is_named(
    built_bundle: Built, tmp_path: Path, tamper: Callable[[Path], str]
) -> None:
    root = unpack(built_bundle.archive, tmp_path / "u")
    rel = tamper(root)
    proc = run_pack(["verify", str(root)], built_bundle.cache_dir)
    assert proc.returncode != 0
    assert rel in proc.stdout + proc.stderr


def test_tampered_archive_fails_its_checksum(built_bundle: Built, tmp_path: Path) -> None:
    copy = tmp_path / built_bundle.archive.name
    data = bytearray(built_bundle.archive.read_bytes())
    copy.write_bytes(bytes(data))
    sidecar = built_bundle.archive.with_name(built_bundle.archive.name + ".sha256")
    (tmp_path / sidecar.name).write_text(
        sidecar.read_text().replace(sidecar.read_text()[:8], "00000000")
    )
    proc = run_pack(["verify", str(copy)], built_bundle.cache_dir)
    assert proc.returncode != 0
    assert copy.name in proc.stdout + proc.stderr


def test_inspect_figures_add_up_to_the_unpacked_size(built_bundle: Built, tmp_path: Path) -> None:
    proc = run_pack(["inspect", "--json", str(built_bundle.archive)], built_bundle.cache_dir)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    root = unpack(built_bundle.archive, tmp_path / "u")
    unpacked = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    sizes = info["sizes"]
    assert sizes["total"] == unpacked
    assert sizes["runtime"] + sizes["site_packages"]["total"] + sizes["rest"] == unpacked
    dists = {d["name"].lower(): d for d in sizes["site_packages"]["distributions"]}
    assert {"markupsafe", "compiled_app"} <= set(dists)
    assert info["manifest"]["name"] == "compiled-app"
    runtime = sum(
        p.stat().st_size for p in (root / "python").rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert sizes["runtime"] == runtime
    assert built_bundle.archive.stat().st_size == info["archive_size"]
