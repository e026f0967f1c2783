"""Safe extraction: real tar archives, benign and malicious (every escape kind), checked for
what lands inside the target and that nothing is written outside it."""

from __future__ import annotations

import io
import lzma
import os
import shutil
import tarfile
from pathlib import Path

import pytest
import zstandard

from packager.errors import UnsafeArchiveError
from packager.extract import safe_extract
from tests.conftest import PbsRelease

Entry = tuple[str, ...]


def make_tar(path: Path, entries: list[Entry]) -> Path:
    """Write a .tar.gz of ("file", name, text) / ("dir", name) / ("sym", name, target) /
    ("link", name, target) / ("chr" | "blk" | "fifo", name) entries."""
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, *rest in entries:
            info = tarfile.TarInfo(name)
            info.mode = 0o755 if kind == "dir" else 0o644
            data = b""
            if kind == "file":
                data = rest[0].encode()
                info.size = len(data)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, rest[0]
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, rest[0]
            else:
                info.type = {
                    "chr": tarfile.CHRTYPE,
                    "blk": tarfile.BLKTYPE,
                    "fifo": tarfile.FIFOTYPE,
                }[kind]
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def snapshot(root: Path, skip: Path) -> dict[str, bytes | str | None]:
    """Every path under `root` but outside `skip`, with file contents and link targets."""
    out: dict[str, bytes | str | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in dirnames + filenames:
            p = here / name
            if p.is_symlink():
                out[str(p)] = "-> " + str(p.readlink())
            elif p.is_file():
                out[str(p)] = p.read_bytes()
            else:
                out[str(p)] = None
    return out


@pytest.fixture
def box(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.txt").write_text("original\n")
    (tmp_path / "dest").mkdir()
    return tmp_path


def attempt(box: Path, entries: list[Entry]) -> str:
    archive = make_tar(box / "evil.tar.gz", entries)
    dest = box / "dest"
    shutil.rmtree(dest)
    dest.mkdir()
    before = snapshot(box, dest)
    with pytest.raises(UnsafeArchiveError) as err:
        safe_extract(archive, dest)
    assert snapshot(box, dest) == before, "something was written outside the target"
    assert (box / "outside" / "victim.txt").read_text() == "original\n"
    return str(err.value)


def refusal(box: Path, name: str, why: str) -> str:
    return (
        f"{box / 'evil.tar.gz'}: refusing entry {name!r} ({why}); the archive is corrupt or "
        "malicious"
    )


def test_absolute_path(box: Path) -> None:
    evil = str(box / "outside" / "evil.txt")
    message = attempt(box, [("file", evil, "x")])
    assert message == refusal(box, evil, "absolute path")
    assert not Path(evil).exists()
    assert not (box / "dest" / evil.lstrip("/")).exists()


@pytest.mark.parametrize(
    "name", ["top/../evil.txt", "top/a/../../evil.txt", "top/./../../outside/victim.txt"]
)
def test_dotdot(box: Path, name: str) -> None:
    message = attempt(box, [("dir", "top/a"), ("file", name, "x")])
    assert message == refusal(box, name, "'..' in the path")


def test_symlink_to_an_absolute_path(box: Path) -> None:
    target = str(box / "outside")
    message = attempt(box, [("sym", "top/link", target), ("file", "top/link/evil.txt", "x")])
    assert message == refusal(box, "top/link", f"absolute link target {target!r}")


def test_symlink_pointing_outside(box: Path) -> None:
    message = attempt(
        box, [("sym", "top/sub/link", "../../../outside"), ("file", "top/sub/link/evil", "x")]
    )
    assert message == refusal(
        box, "top/sub/link", "link target '../../../outside' is outside the bundle's top folder"
    )


def test_symlink_to_the_folder_above_the_top_folder(box: Path) -> None:
    # Inside the staging folder, outside the bundle: once moved into place, it is the
    # install directory.
    message = attempt(box, [("dir", "top"), ("sym", "top/parentdir", "..")])
    assert message == refusal(
        box, "top/parentdir", "link target '..' is outside the bundle's top folder"
    )


@pytest.mark.parametrize(
    "entries",
    [
        # `b -> a/..` looks like `.`, but `a` is itself a link to `.`: b resolves to the parent.
        [("sym", "top/a", "."), ("sym", "top/b", "a/.."), ("file", "top/b/outside/x", "x")],
        # Written first, `b -> a/..` resolves inside (there is no `a` yet); `a -> .` would
        # then make it the parent.
        [("sym", "top/b", "a/.."), ("sym", "top/a", ".")],
    ],
)
def test_symlink_chains_that_escape_lexical_checks(box: Path, entries: list[Entry]) -> None:
    message = attempt(box, entries)
    assert message == refusal(box, "top/b", "link target 'a/..' has '..' after a name")


def test_file_written_over_an_earlier_link(box: Path) -> None:
    # Writing the file `f` would follow the link written under that name.
    message = attempt(box, [("sym", "top/f", "victim.txt"), ("file", "top/f", "overwritten\n")])
    assert message == refusal(box, "top/f", "it is already in the archive")


def test_writing_through_a_symlinked_directory(box: Path) -> None:
    message = attempt(box, [("sym", "top/d", "."), ("file", "top/d/x", "x")])
    assert message == refusal(box, "top/d/x", "a path through the symlink 'd'")


def test_hard_link_pointing_outside(box: Path) -> None:
    message = attempt(box, [("link", "top/h", "../outside/victim.txt")])
    assert message == refusal(box, "top/h", "hard link to '../outside/victim.txt'")
    victim = str(box / "outside" / "victim.txt")
    message = attempt(box, [("link", "top/h2", victim)])
    assert message == refusal(box, "top/h2", f"hard link to {victim!r}")


def test_hard_link_through_a_symlink(box: Path) -> None:
    message = attempt(box, [("sym", "top/s", "."), ("link", "top/h", "top/s/x")])
    assert message == refusal(box, "top/h", "a path through the symlink 's'")


def test_hard_link_to_a_symlink(box: Path) -> None:
    message = attempt(box, [("sym", "top/s", "x"), ("link", "top/h", "top/s")])
    assert message == refusal(box, "top/h", "hard link to 'top/s', not an earlier file")


def test_more_than_one_top_folder(box: Path) -> None:
    message = attempt(box, [("file", "a/x", "x"), ("file", "b/y", "y")])
    assert message == (
        f"{box / 'evil.tar.gz'}: more than one top-level entry ('a', 'b'); a pack archive "
        "holds one folder"
    )


@pytest.mark.parametrize("kind", ["chr", "blk", "fifo"])
def test_device_files(box: Path, kind: str) -> None:
    message = attempt(box, [("dir", "top/dev"), (kind, "top/dev/thing")])
    assert message == refusal(box, "top/dev/thing", "a device or fifo")
    assert not (box / "dest" / "top" / "dev" / "thing").exists()


def test_benign_archive_with_internal_links(box: Path) -> None:
    archive = make_tar(
        box / "good.tar.gz",
        [
            ("dir", "./python"),
            ("dir", "python/bin"),
            ("file", "python/bin/python3.11", "#!binary\n"),
            ("sym", "python/bin/python3", "python3.11"),
            ("sym", "python/lib-link", "bin"),
            ("link", "python/bin/python-hard", "python/bin/python3.11"),
            ("dir", "python/bin"),  # a directory may be repeated
        ],
    )
    dest = box / "dest"
    safe_extract(archive, dest)
    py = dest / "python" / "bin"
    assert (py / "python3.11").read_text() == "#!binary\n"
    assert (py / "python3").readlink() == Path("python3.11")
    assert (py / "python-hard").samefile(py / "python3.11")
    assert (dest / "python" / "lib-link" / "python3").read_text() == "#!binary\n"


@pytest.mark.parametrize("suffix", [".tar.zst", ".tar.xz", ".tar"])
def test_other_compressions(box: Path, suffix: str) -> None:
    raw = make_tar(box / "plain.tar.gz", [("file", "a/b.txt", "hello")])
    import gzip

    tar_bytes = gzip.decompress(raw.read_bytes())
    data = {
        ".tar.zst": lambda b: zstandard.ZstdCompressor().compress(b),
        ".tar.xz": lzma.compress,
        ".tar": lambda b: b,
    }[suffix](tar_bytes)
    archive = box / f"x{suffix}"
    archive.write_bytes(data)
    safe_extract(archive, box / "dest")
    assert (box / "dest" / "a" / "b.txt").read_text() == "hello"


def test_corrupt_archive(box: Path) -> None:
    good = make_tar(box / "good.tar.gz", [("file", "top/a.txt", os.urandom(100_000).hex())])
    bad = box / "bad.tar.gz"
    bad.write_bytes(good.read_bytes()[:50_000])
    with pytest.raises(UnsafeArchiveError) as err:
        safe_extract(bad, box / "dest")
    assert str(err.value).startswith(f"{bad}: not a readable tar archive (")
    assert str(err.value).endswith("); the archive is corrupt")


def test_a_python_build_standalone_archive_extracts(
    pbs_release: PbsRelease, tmp_path: Path
) -> None:
    safe_extract(pbs_release.install_only, tmp_path)
    major_minor = ".".join(pbs_release.version.split(".")[:2])
    exe = tmp_path / "python" / "bin" / f"python{major_minor}"
    assert exe.is_file() and os.access(exe, os.X_OK)
    assert (tmp_path / "python" / "bin" / "python3").readlink() == Path(f"python{major_minor}")
    assert (tmp_path / "python" / "lib" / f"python{major_minor}" / "os.py").is_file()
