"""The runtime folder as its own compressed segment (zstd frame, gzip member, xz stream),
cached and concatenated: the same bytes with a cold cache, a warm cache, no cache and any
thread count; readable by the system tools; a damaged or stale cached segment never ends up in
an archive."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pack_runtime.archive import safe_extract as stub_extract
from pack_runtime.filelist import scan_tree
from packager import cache as cache_mod
from packager._fs import copy_tree
from packager.bundlearchive import ArchiveOptions, Format, SeparateLayer, read_bundle, write_archive
from tests.helpers.synthetic import PY, SITE, TOP, diff_archives, make_bundle

TAR_FORMATS: list[Format] = ["tar.zst", "tar.gz", "tar.xz"]
IDENTITY = "ab" * 32
# What decompresses each format on its own (the concatenation must be read whole).
_DECOMPRESS = {"tar.zst": ["zstd", "-dc"], "tar.gz": ["gzip", "-dc"], "tar.xz": ["xz", "-dc"]}


def _write(
    bundle: Path, dest: Path, fmt: Format, cache: Path | None, threads: int = 0
) -> tuple[str, Path]:
    layer = SeparateLayer("python", IDENTITY, cache)
    artifact = write_archive(
        bundle, dest, top=TOP, options=ArchiveOptions(format=fmt, threads=threads), layers=[layer]
    )
    return artifact.sha256, dest


def _segments(cache: Path) -> list[Path]:
    return sorted((cache / cache_mod.FRAMES).glob("*/segment"))


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "staging" / TOP)


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_cold_warm_and_uncached_give_the_same_bytes_at_any_thread_count(
    bundle: Path, tmp_path: Path, fmt: Format
) -> None:
    cache = tmp_path / "cache"
    uncached, _ = _write(bundle, tmp_path / "a" / f"x.{fmt}", fmt, None, threads=1)
    cold, _ = _write(bundle, tmp_path / "b" / f"x.{fmt}", fmt, cache, threads=2)
    [segment] = _segments(cache)
    before = segment.stat()
    warm, dest = _write(bundle, tmp_path / "c" / f"x.{fmt}", fmt, cache, threads=1)
    assert uncached == cold == warm
    # The warm build reused the cached segment: not rewritten, and its bytes are in the archive.
    after = segment.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert segment.read_bytes() in dest.read_bytes()
    assert _segments(cache) == [segment]


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_concatenated_segments_are_one_archive_to_the_system_tools(
    bundle: Path, tmp_path: Path, fmt: Format
) -> None:
    _, dest = _write(bundle, tmp_path / "dist" / f"x.{fmt}", fmt, tmp_path / "cache")
    # Three segments: before python/, python/, after it.
    data = dest.read_bytes()
    magic = {"tar.zst": b"\x28\xb5\x2f\xfd", "tar.gz": b"\x1f\x8b\x08", "tar.xz": b"\xfd7zXZ\0"}
    assert data.count(magic[fmt]) >= 3
    raw = subprocess.run([*_DECOMPRESS[fmt], dest], capture_output=True, check=True).stdout
    assert len(raw) % 10240 == 0 and raw.endswith(bytes(1024))
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run(["tar", "-xf", dest, "-C", out], check=True)
    assert scan_tree(out / TOP) == scan_tree(bundle)
    assert diff_archives(dest, bundle) == []
    paths = [m.path for m in read_bundle(dest)]
    assert "venv/pyvenv.cfg" in paths and f"python/bin/python{PY}" in paths


def test_same_contents_as_a_single_stream_archive(bundle: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.tar.zst"
    write_archive(bundle, single, top=TOP, options=ArchiveOptions())
    _, layered = _write(bundle, tmp_path / "layered.tar.zst", "tar.zst", tmp_path / "cache")
    assert diff_archives(single, layered) == []
    listing = ["tar", "--zstd", "-tvf"]
    assert (
        subprocess.run([*listing, single], capture_output=True, check=True).stdout
        == subprocess.run([*listing, layered], capture_output=True, check=True).stdout
    )


def test_a_damaged_cached_segment_is_replaced_not_shipped(bundle: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good, _ = _write(bundle, tmp_path / "a.tar.zst", "tar.zst", cache)
    [segment] = _segments(cache)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    again, _ = _write(bundle, tmp_path / "b.tar.zst", "tar.zst", cache)
    assert again == good
    [repaired] = _segments(cache)
    assert hashlib.sha256(repaired.read_bytes()).hexdigest() != hashlib.sha256(data).hexdigest()


def test_a_changed_runtime_file_misses_the_cache(bundle: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = _write(bundle, tmp_path / "a.tar.zst", "tar.zst", cache)
    # Same size, other bytes, other mtime: what an edit in place looks like.
    module = bundle / "python" / "lib" / f"python{PY}" / "os.py"
    module.write_bytes(module.read_bytes().replace(b"x = 1", b"x = 2"))
    os.utime(module, ns=(1, 1))
    second, dest = _write(bundle, tmp_path / "b.tar.zst", "tar.zst", cache)
    assert second != first
    assert len(_segments(cache)) == 2
    member = next(m for m in read_bundle(dest, keep=lambda p: p.endswith("/os.py")) if m.data)
    assert b"x = 2" in (member.data or b"")


def test_options_that_change_the_bytes_change_the_key(bundle: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    layer = SeparateLayer("python", IDENTITY, cache)
    for i, options in enumerate(
        [ArchiveOptions(), ArchiveOptions(level=3), ArchiveOptions(mtime=1700000000)]
    ):
        write_archive(bundle, tmp_path / f"{i}.tar.zst", top=TOP, options=options, layers=[layer])
    write_archive(
        bundle,
        tmp_path / "other-top.tar.zst",
        top="app-2.0",
        options=ArchiveOptions(),
        layers=[layer],
    )
    other = SeparateLayer("python", "cd" * 32, cache)
    write_archive(
        bundle, tmp_path / "other.tar.zst", top=TOP, options=ArchiveOptions(), layers=[other]
    )
    assert len(_segments(cache)) == 5
    assert {e.kind for e in cache_mod.list_entries(cache)} == {cache_mod.FRAMES}


def test_without_the_folder_the_archive_is_one_segment(tmp_path: Path) -> None:
    tree = tmp_path / TOP
    (tree / "venv").mkdir(parents=True)
    (tree / "venv" / "pyvenv.cfg").write_text("x\n")
    cache = tmp_path / "cache"
    _, dest = _write(tree, tmp_path / "x.tar.zst", "tar.zst", cache)
    assert dest.read_bytes().count(b"\x28\xb5\x2f\xfd") == 1
    assert not cache.exists() or _segments(cache) == []


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_the_stub_extracts_every_segment(bundle: Path, tmp_path: Path, fmt: Format) -> None:
    # `self update` reads archives with the stub's own reader (tarfile's "r|gz" alone would
    # stop after the first gzip member).
    _, dest = _write(bundle, tmp_path / "dist" / f"x.{fmt}", fmt, tmp_path / "cache")
    out = tmp_path / "unpacked"
    out.mkdir()
    top = stub_extract(dest, out)
    assert scan_tree(top) == scan_tree(bundle)


def _site_layers(bundle: Path, source: Path, cache: Path | None) -> list[SeparateLayer]:
    return [
        SeparateLayer("python", IDENTITY, cache),
        SeparateLayer(SITE, "env-key", cache, source),
    ]


def _source_of(bundle: Path, tmp_path: Path) -> Path:
    """The cached environment the bundle's site-packages was linked from: the same files,
    without the app's."""
    source = tmp_path / "env" / "site-packages"
    copy_tree(bundle / SITE, source, hardlink=True)
    for name in ("app", "app-1.0.dist-info"):
        shutil.rmtree(source / name)
    return source


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_locked_packages_are_cached_in_runs_between_the_apps_entries(
    bundle: Path, tmp_path: Path, fmt: Format
) -> None:
    source = _source_of(bundle, tmp_path)
    cache = tmp_path / "cache"
    digests = set()
    for i, c in enumerate([None, cache, cache]):
        dest = tmp_path / f"{i}" / f"x.{fmt}"
        art = write_archive(
            bundle,
            dest,
            top=TOP,
            options=ArchiveOptions(format=fmt),
            layers=_site_layers(bundle, source, c),
        )
        digests.add(art.sha256)
    assert len(digests) == 1
    # python/, then site-packages' `_virtualenv.pth` and `six*` around the app's entries.
    segments = _segments(cache)
    assert len(segments) == 3
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run(["tar", "-xf", dest, "-C", out], check=True)
    assert scan_tree(out / TOP) == scan_tree(bundle)


def test_a_changed_app_reuses_the_packages_and_a_changed_package_is_not(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    first = make_bundle(tmp_path / "one" / TOP)
    source = _source_of(first, tmp_path)
    write_archive(
        first,
        tmp_path / "1.tar.zst",
        top=TOP,
        options=ArchiveOptions(),
        layers=_site_layers(first, source, cache),
    )
    before = _segments(cache)

    # Another build of a changed app from the same cached environment: linked again.
    second = make_bundle(tmp_path / "two" / TOP, variant="changed")
    shutil.rmtree(second / SITE)
    copy_tree(source, second / SITE, hardlink=True)
    for name in ("app", "app-1.0.dist-info"):
        shutil.copytree(first / SITE / name, second / SITE / name, symlinks=True)
    (second / SITE / "app" / "__init__.py").write_text("VALUE = 'changed'\n")
    write_archive(
        second,
        tmp_path / "2.tar.zst",
        top=TOP,
        options=ArchiveOptions(),
        layers=_site_layers(second, source, cache),
    )
    # python/ differs between the two synthetic trees (mtimes), site-packages runs do not.
    site_segments = [p for p in _segments(cache) if p not in before]
    assert len(site_segments) == 1  # only the second tree's python/

    # A package file changed in the bundle: its run is no longer the cached one.
    six = second / SITE / "six.py"
    six.unlink()
    six.write_bytes(b"# patched six\n")
    dest = tmp_path / "3.tar.zst"
    write_archive(
        second, dest, top=TOP, options=ArchiveOptions(), layers=_site_layers(second, source, cache)
    )
    member = next(m for m in read_bundle(dest, keep=lambda p: p.endswith("/six.py")) if m.data)
    assert member.data == b"# patched six\n"
    assert diff_archives(dest, second) == []
