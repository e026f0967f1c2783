"""Bounds of `pack_runtime.archive`, the one reader and extractor of incoming archives (the
stub's updates, pack's interpreter archives, `pack verify` and `pack inspect`): decompression
and header bombs made in the test are refused at their header, in seconds, in bounded memory,
and an extraction never fills the disk; and its rules: unsafe entries, one top folder, links kept
and special bits dropped, zstd with or without the module."""

from __future__ import annotations

import io
import os
import resource
import subprocess
import tarfile
from pathlib import Path

import pytest

from pack_runtime import archive as archive_mod
from pack_runtime.errors import ChecksumError, DiskError, StubError
from pack_runtime.sums import sha256_file
from packager.errors import DiskError as PackDiskError
from packager.errors import UnsafeArchiveError
from packager.extract import safe_extract as pack_extract
from tests.helpers.bombs import malformed_pax, pax_bomb, size_bomb
from tests.helpers.bundles import PACK
from tests.helpers.disk import small_tmpfs
from tests.helpers.stub import archive_of, crafted_tar, deploy, leftovers, stub
from tests.helpers.synthetic import runnable_bundle

GIB = 1 << 30
MIB = 1 << 20
# A hang guard, not a timing assertion: on today's main these take minutes or fill the disk.
HANG_GUARD = 120


def _bounded(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` with 1 GiB of address space at most."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    return subprocess.run(
        argv, capture_output=True, text=True, timeout=HANG_GUARD, preexec_fn=limit, check=False
    )


def test_a_decompression_bomb_is_refused_at_its_header(tmp_path: Path) -> None:
    bomb = size_bomb(tmp_path / "bomb.tar.zst", files=1, each=10 * GIB)
    assert bomb.stat().st_size < 1 * MIB
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bomb, tmp_path / "out")
    assert str(exc.value) == (
        f"{bomb}: refusing it: it unpacks to more than 256.0 MiB, over 200 times its own size; "
        "the archive is corrupt or malicious"
    )
    assert list((tmp_path / "out").rglob("zeros-*")) == []


def test_the_total_size_limit_counts_every_file(tmp_path: Path) -> None:
    bomb = size_bomb(tmp_path / "bomb.tar.zst", files=3, each=2 * MIB)
    (tmp_path / "out").mkdir()
    limits = archive_mod.Limits(max_unpacked=5 * MIB)
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bomb, tmp_path / "out", limits=limits)
    assert str(exc.value) == (
        f"{bomb}: refusing it: it unpacks to more than 5.0 MiB, the most pack accepts; the "
        "archive is corrupt or malicious"
    )
    assert sorted(p.name for p in (tmp_path / "out/demo-2.0").iterdir()) == [
        "zeros-0",
        "zeros-1",
    ]


def test_extraction_never_fills_the_disk(tmp_path: Path) -> None:
    bomb = size_bomb(tmp_path / "bomb.tar.zst", files=8, each=16 * MIB)
    limits = archive_mod.Limits(max_ratio=10**9)  # only the free-space rule is under test
    with small_tmpfs(tmp_path / "disk", "64m") as disk:
        with pytest.raises(DiskError) as exc:
            archive_mod.safe_extract(bomb, disk, limits=limits)
        st = os.statvfs(disk)
        assert st.f_bavail * st.f_frsize >= limits.keep_free
    assert str(exc.value).startswith(f"{bomb}: unpacking it needs more than the ")
    assert str(exc.value).endswith(
        " free on that disk (keeping 16.0 MiB in reserve); free some space"
    )
    with small_tmpfs(tmp_path / "disk2", "64m") as disk, pytest.raises(PackDiskError):
        pack_extract(bomb, disk, limits=limits)


def test_a_pax_header_bomb_is_refused_before_tarfile_parses_it(tmp_path: Path) -> None:
    bomb = pax_bomb(tmp_path / "pax.tar.zst")
    assert bomb.stat().st_size < 1 * MIB
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bomb, tmp_path / "out")
    assert str(exc.value) == (
        f"{bomb}: refusing it: a pax header of 1.0 GiB; pack accepts at most 64.0 KiB; the "
        "archive is corrupt or malicious"
    )
    with pytest.raises(UnsafeArchiveError):
        pack_extract(bomb, tmp_path / "out")


def test_a_malformed_pax_header_is_refused(tmp_path: Path) -> None:
    bad = malformed_pax(tmp_path / "bad.tar.zst")
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bad, tmp_path / "out")
    assert str(exc.value) == (
        f"{bad}: refusing it: a malformed pax header; the archive is corrupt or malicious"
    )


@pytest.mark.parametrize("command", ["verify", "inspect"])
@pytest.mark.parametrize("bomb", ["size", "pax"])
def test_pack_verify_and_inspect_refuse_bombs_in_bounded_memory(
    tmp_path: Path, command: str, bomb: str
) -> None:
    name = tmp_path / "demo-2.0-x86_64-unknown-linux-gnu.tar.zst"
    made = size_bomb(name, files=1, each=10 * GIB) if bomb == "size" else pax_bomb(name)
    proc = _bounded([*PACK, command, str(made)])
    assert proc.returncode == 4, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"error: {made}: refusing it: " in proc.stderr


@pytest.mark.parametrize("bomb", ["size", "pax"])
def test_self_update_refuses_bombs(tmp_path: Path, bomb: str) -> None:
    d = deploy(tmp_path)
    name = tmp_path / "demo-2.0.tar.zst"
    made = size_bomb(name, files=1, each=10 * GIB) if bomb == "size" else pax_bomb(name)
    r = stub(d.root, "update", str(made), "--sha256", sha256_file(made), "--yes")
    assert r.code == 4
    assert ": refusing it: " in r.err.splitlines()[-1]
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_an_ordinary_pax_archive_with_long_names_passes_the_gate(tmp_path: Path) -> None:
    long = "top/" + "d" * 150 + "/" + "é" * 80  # pax `path` records, as pack's writer makes
    path = tmp_path / "long.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(long)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    (tmp_path / "out").mkdir()
    top = archive_mod.safe_extract(path, tmp_path / "out")
    assert (top.parent / long).read_bytes() == b"abc"


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ([("app/x", "file", "x"), ("/etc/evil", "file", "x")], "'/etc/evil' (absolute path)"),
        ([("app/../evil", "file", "x")], "'app/../evil' ('..' in the path)"),
        ([("app/l", "sym", "/etc")], "'app/l' (absolute link target '/etc')"),
        (
            [("app/l", "sym", "../../etc")],
            "'app/l' (link target '../../etc' is outside the bundle's top folder)",
        ),
        (
            [("app/l", "sym", "a/../../..")],
            "'app/l' (link target 'a/../../..' has '..' after a name)",
        ),
        ([("app/h", "hard", "../etc/passwd")], "'app/h' (hard link to '../etc/passwd')"),
        ([("app/f", "fifo", "")], "'app/f' (a device or fifo)"),
        (
            [("app/l", "sym", "x"), ("app/l", "file", "through the link")],
            "'app/l' (it is already in the archive)",
        ),
    ],
)
def test_unsafe_entries_are_refused(
    tmp_path: Path, entries: list[tuple[str, str, str]], why: str
) -> None:
    bad = crafted_tar(tmp_path / "bad.tar.gz", entries)
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bad, tmp_path / "out")
    assert str(exc.value) == f"{bad}: refusing entry {why}; the archive is corrupt or malicious"
    assert not (tmp_path / "evil").exists()


def test_more_than_one_top_folder_is_refused(tmp_path: Path) -> None:
    bad = crafted_tar(tmp_path / "two.tar.gz", [("a/x", "file", "x"), ("b/y", "file", "y")])
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError, match=r"more than one top-level entry \('a', 'b'\)"):
        archive_mod.safe_extract(bad, tmp_path / "out")


def test_an_unsafe_update_archive_is_refused_with_exit_4(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    bad = crafted_tar(tmp_path / "demo-2.0.tar.gz", [("demo-2.0/l", "sym", "/etc")])
    r = stub(d.root, "update", str(bad), "--sha256", sha256_file(bad), "--yes")
    assert r.code == 4
    assert "refusing entry 'demo-2.0/l' (absolute link target '/etc')" in r.err
    assert leftovers(d.app_dir) == []


@pytest.mark.parametrize("data_filter", [True, False])
def test_extraction_keeps_links_and_drops_special_bits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_filter: bool
) -> None:
    # False exercises the manual path used by interpreters without tarfile's data filter.
    monkeypatch.setattr(archive_mod, "_HAS_DATA_FILTER", data_filter)
    good = crafted_tar(
        tmp_path / "good.tar.gz",
        [
            ("app/", "dir", ""),
            ("app/bin/tool", "4777", "#!/bin/sh\n"),
            ("app/data.txt", "0666", "data"),
            ("app/venv/bin/python", "sym", "../../bin/tool"),
            ("app/same", "hard", "app/data.txt"),
        ],
    )
    (tmp_path / "out").mkdir()
    top = archive_mod.safe_extract(good, tmp_path / "out")
    assert top == tmp_path / "out" / "app"
    assert (top / "bin/tool").stat().st_mode & 0o7777 == 0o755
    assert (top / "data.txt").stat().st_mode & 0o7777 == 0o644
    assert str((top / "venv/bin/python").readlink()) == "../../bin/tool"
    assert (top / "same").read_text() == "data"


def test_zstd_without_module_or_command_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a bundle's Python before 3.14: no compression.zstd, no zstandard package.
    monkeypatch.setattr(archive_mod, "_zstd_module", lambda: None)
    root = runnable_bundle(tmp_path / "build", version="2.0")
    zst = archive_of(root, tmp_path / "dist", "tar.zst")
    (tmp_path / "out").mkdir()
    with pytest.raises(StubError) as exc:
        archive_mod.safe_extract(zst, tmp_path / "out", {"PATH": str(tmp_path / "empty")})
    assert str(exc.value) == (
        f"{zst} is zstd-compressed, but this Python (3.11) has no compression.zstd module and no "
        "`zstd` command is on PATH; install zstd, or update from the .tar.gz or .tar.xz archive"
    )


def test_a_corrupt_zstd_stream_is_reported(tmp_path: Path) -> None:
    zst = tmp_path / "bad.tar.zst"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(200))
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError, match=r"bad\.tar\.zst: .*corrupt"):
        archive_mod.safe_extract(zst, tmp_path / "out")
