"""The archive writer: same bytes whatever the machine state, readable by the system tar and
zstd, nothing half-written on failure, and the streaming reader that inspect/verify use."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import zstandard

from pack_runtime.filelist import scan_tree
from packager.bundlearchive import (
    DEFAULT_MTIME,
    ArchiveOptions,
    Format,
    mtime_from_env,
    read_bundle,
    write_archive,
    zstd_compressor,
)
from packager.errors import BuildError, ChecksumError, ConfigError, UnsafeArchiveError
from tests.helpers.synthetic import (
    LONG_FILE,
    TOP,
    UNICODE_FILE,
    archive_in_subprocess,
    diff_archives,
    make_bundle,
)

TAR_FORMATS: list[Format] = ["tar.zst", "tar.gz", "tar.xz"]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "staging" / "bundle")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_same_bytes_whatever_path_umask_tz_lang_and_threads(tmp_path: Path, fmt: str) -> None:
    a = archive_in_subprocess(
        tmp_path / "one" / "tree",
        tmp_path / "out1" / f"app.{fmt}",
        fmt=fmt,
        threads=1,
        umask=0o022,
        env={"TZ": "UTC", "LANG": "C", "LC_ALL": "C"},
    )
    b = archive_in_subprocess(
        tmp_path / "other dir \u00e9" / "deeper" / "tree",
        tmp_path / "out2" / f"app.{fmt}",
        fmt=fmt,
        threads=3,
        umask=0o077,
        env={"TZ": "Pacific/Chatham", "LANG": "de_DE.UTF-8", "LC_ALL": "tr_TR.UTF-8"},
    )
    assert a == b
    assert (tmp_path / "out1" / f"app.{fmt}").read_bytes() == (
        tmp_path / "out2" / f"app.{fmt}"
    ).read_bytes()


def test_changed_source_changes_the_digest(tmp_path: Path) -> None:
    a = archive_in_subprocess(tmp_path / "a", tmp_path / "a.tar.zst")
    b = archive_in_subprocess(tmp_path / "b", tmp_path / "b.tar.zst", variant="changed")
    assert a != b
    differs = diff_archives(tmp_path / "a.tar.zst", tmp_path / "b.tar.zst")
    assert [line.split(":")[1].strip() for line in differs] == [
        ".pack/files",
        "venv/lib/python3.11/site-packages/app-1.0.dist-info/RECORD",
        "venv/lib/python3.11/site-packages/app/__init__.py",
    ]


def test_source_date_epoch_sets_every_mtime(tmp_path: Path) -> None:
    out = tmp_path / "app.tar.gz"
    archive_in_subprocess(
        tmp_path / "t", out, fmt="tar.gz", env={"SOURCE_DATE_EPOCH": "1700000000"}
    )
    with tarfile.open(out) as tar:
        assert {m.mtime for m in tar} == {1700000000}


def test_zstd_output_does_not_depend_on_thread_count() -> None:
    # Over two jobs' worth of input (jobs are 32 MiB), so several workers really share it;
    # a repeated block gives long-distance matches across job boundaries.
    rng = random.Random(1)
    repeated = rng.randbytes(768 << 10)
    big = b"".join(rng.randbytes(256 << 10) + repeated for _ in range(70))
    digests = set()
    for threads in (1, 2, 4):
        out = io.BytesIO()
        with zstd_compressor(3, threads, len(big)).stream_writer(out, closefd=False) as w:
            for i in range(0, len(big), 1 << 20):
                w.write(big[i : i + (1 << 20)])
        digests.add(hashlib.sha256(out.getvalue()).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_system_tools_accept_the_archive(bundle: Path, tmp_path: Path, fmt: Format) -> None:
    dest = tmp_path / "dist" / f"app-1.0.{fmt}"
    artifact = write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format=fmt))
    assert artifact.path == dest and artifact.format == fmt
    assert artifact.size == dest.stat().st_size
    assert artifact.sha256 == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert leftovers(dest.parent) == [dest.name, dest.name + ".sha256"]
    assert (
        dest.parent / (dest.name + ".sha256")
    ).read_text() == f"{artifact.sha256}  {dest.name}\n"
    subprocess.run(["sha256sum", "-c", dest.name + ".sha256"], cwd=dest.parent, check=True)
    tester = {"tar.zst": ["zstd", "-q", "-t"], "tar.gz": ["gzip", "-t"], "tar.xz": ["xz", "-t"]}
    subprocess.run([*tester[fmt], str(dest)], check=True)

    listing = subprocess.run(
        ["tar", "-tvf", str(dest)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
    ).stdout.splitlines()
    assert listing[0].split()[0] == "drwxr-xr-x" and listing[0].endswith(f" {TOP}/")
    for line in listing:
        perms, owner, _size, date, _time, name = line.split(None, 5)
        assert owner == "0/0", line
        assert date == "1980-01-01", line
        assert name.startswith(f"{TOP}/") or name == f"{TOP}/", line
        assert perms in {"drwxr-xr-x", "-rw-r--r--", "-rwxr-xr-x", "lrwxrwxrwx"}, line
    assert f"{TOP}/venv/bin/python -> ../../python/bin/python3.11" in "\n".join(listing)
    assert any(
        line.startswith("-rwxr-xr-x") and line.endswith(f"{TOP}/bin/app") for line in listing
    )
    assert f"{TOP}/python/include/" in "\n".join(listing)

    # GNU tar unpacks it to the same tree, long and non-ASCII names included.
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(dest), "-C", str(out)], check=True)
    assert scan_tree(out / TOP) == scan_tree(bundle)
    assert (out / TOP / UNICODE_FILE).read_text() == "caf\u00e9\n"
    assert (out / TOP / LONG_FILE).is_file()


def test_tar_headers_carry_nothing_that_varies(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "app.tar.gz"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format="tar.gz", mtime=42))
    with tarfile.open(dest) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(
        (m.name for m in members), key=lambda n: n.split("/")
    )
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 42)
        assert set(m.pax_headers) <= {"path", "linkpath"}, m.pax_headers
    header = dest.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip mtime
    assert header[3] & 0x08 == 0  # no file name


def test_modes_are_normalised(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "d").mkdir(parents=True)
    (tree / "d").chmod(0o700)
    for name, mode in {
        "private": 0o600,
        "group": 0o664,
        "userexec": 0o744,
        "setuid": 0o4711,
    }.items():
        (tree / name).write_text(name)
        (tree / name).chmod(mode)
    dest = tmp_path / "x.tar.gz"
    write_archive(tree, dest, top="x", options=ArchiveOptions(format="tar.gz"))
    with tarfile.open(dest) as tar:
        modes = {m.name: m.mode for m in tar}
    assert modes == {
        "x": 0o755,
        "x/d": 0o755,
        "x/group": 0o644,
        "x/private": 0o644,
        "x/setuid": 0o755,
        "x/userexec": 0o755,
    }


def test_absolute_symlink_is_a_build_error_naming_it(bundle: Path, tmp_path: Path) -> None:
    (bundle / "venv" / "bin" / "python").unlink()
    (bundle / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    dest = tmp_path / "dist" / "app.tar.zst"
    with pytest.raises(BuildError) as err:
        write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    assert str(err.value) == (
        f"{bundle}/venv/bin/python is a symlink to the absolute path /usr/bin/python3, which "
        "breaks when the bundle moves; make it relative"
    )
    assert leftovers(dest.parent) == []


def test_symlink_out_of_the_bundle_is_a_build_error(bundle: Path, tmp_path: Path) -> None:
    (bundle / "bin" / "escape").symlink_to("../../outside")
    with pytest.raises(BuildError, match=r"bin/escape is a symlink to \.\./\.\./outside, outside"):
        write_archive(bundle, tmp_path / "a.tar.zst", top=TOP, options=ArchiveOptions())


def test_fifo_is_a_build_error(bundle: Path, tmp_path: Path) -> None:
    os.mkfifo(bundle / "bin" / "pipe")
    with pytest.raises(BuildError, match="bin/pipe: not a file, folder or symlink"):
        write_archive(bundle, tmp_path / "a.tar.zst", top=TOP, options=ArchiveOptions())


FILL_THEN_FAIL = """
import resource, signal, sys
from pathlib import Path
from packager.bundlearchive import ArchiveOptions, write_archive
from packager.errors import BuildError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
try:
    write_archive(Path(sys.argv[1]), Path(sys.argv[2]), top="app-1.0",
                  options=ArchiveOptions(format="tar.gz", level=1))
except BuildError as exc:
    print(exc)
    sys.exit(5)
"""


def test_failure_mid_write_leaves_the_old_archive_and_no_temp_file(
    bundle: Path, tmp_path: Path
) -> None:
    # A real write failure: the file-size limit makes the kernel refuse bytes past 64 KiB.
    (bundle / "payload.bin").write_bytes(os.urandom(1 << 20))
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "app.tar.gz").write_bytes(b"old archive")
    (dist / "app.tar.gz.sha256").write_text("old\n")
    proc = subprocess.run(
        [sys.executable, "-c", FILL_THEN_FAIL, str(bundle), str(dist / "app.tar.gz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 5, proc.stderr
    assert proc.stdout.startswith(f"writing {dist}/app.tar.gz failed: [Errno 27] File too large")
    assert leftovers(dist) == ["app.tar.gz", "app.tar.gz.sha256"]
    assert (dist / "app.tar.gz").read_bytes() == b"old archive"


def test_replaces_an_existing_archive_and_checksum(bundle: Path, tmp_path: Path) -> None:
    dest = tmp_path / "app.tar.zst"
    dest.write_bytes(b"old")
    (tmp_path / "app.tar.zst.sha256").write_text("stale\n")
    artifact = write_archive(bundle, dest, top=TOP, options=ArchiveOptions())
    assert (tmp_path / "app.tar.zst.sha256").read_text().startswith(artifact.sha256)


def test_dir_format_copies_a_normalised_tree(bundle: Path, tmp_path: Path) -> None:
    (bundle / "bin" / "app").chmod(0o700)
    dest = tmp_path / "dist" / "app-1.0"
    artifact = write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format="dir", mtime=7))
    assert artifact == type(artifact)(dest, "", artifact.size, "dir")
    assert leftovers(dest.parent) == ["app-1.0"]
    assert [(e.path, e.type, e.sha256, e.target) for e in scan_tree(dest)] == [
        (e.path, e.type, e.sha256, e.target) for e in scan_tree(bundle)
    ]
    assert (dest / "bin" / "app").stat().st_mode & 0o777 == 0o755
    assert (dest / "venv" / "bin" / "python").readlink() == Path("../../python/bin/python3.11")
    assert (dest / "python" / "include").is_dir()
    assert (dest / "bin").stat().st_mtime == 7 and dest.stat().st_mtime == 7
    # Real copies: writing to the output never reaches the staging tree (or the cache).
    assert (dest / "bin" / "app").stat().st_ino != (bundle / "bin" / "app").stat().st_ino


def test_dir_format_failure_leaves_nothing(bundle: Path, tmp_path: Path) -> None:
    (bundle / "bin" / "bad").symlink_to("/etc/passwd")
    with pytest.raises(BuildError):
        write_archive(
            bundle, tmp_path / "dist" / "d", top=TOP, options=ArchiveOptions(format="dir")
        )
    assert leftovers(tmp_path / "dist") == []


@pytest.mark.parametrize(
    ("options", "top", "message"),
    [
        (
            ArchiveOptions(level=30),
            TOP,
            "compression level 30 is out of range for tar.zst; use 1 to 22",
        ),
        (
            ArchiveOptions(format="tar.gz", level=0),
            TOP,
            "compression level 0 is out of range for tar.gz; use 1 to 9",
        ),
        (ArchiveOptions(threads=-1), TOP, "threads=-1 must be 0 (all cores) or more"),
        (ArchiveOptions(), "a/b", "archive top folder 'a/b' must be one plain folder name"),
        (ArchiveOptions(), "..", "archive top folder '..' must be one plain folder name"),
        (
            ArchiveOptions(format="zip"),  # type: ignore[arg-type]
            TOP,
            "unknown archive format 'zip'; use one of tar.zst, tar.gz, tar.xz, dir",
        ),
    ],
)
def test_bad_options_are_config_errors(
    bundle: Path, tmp_path: Path, options: ArchiveOptions, top: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        write_archive(bundle, tmp_path / "a.tar.zst", top=top, options=options)
    assert str(err.value) == message


def test_mtime_from_env() -> None:
    assert mtime_from_env({}) == DEFAULT_MTIME == 315532800
    assert mtime_from_env({"SOURCE_DATE_EPOCH": ""}) == DEFAULT_MTIME
    assert mtime_from_env({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert mtime_from_env({"SOURCE_DATE_EPOCH": "0"}) == 0
    for bad in ("abc", "-5", "1.5", "1e9", "99999999999999"):
        with pytest.raises(ConfigError) as err:
            mtime_from_env({"SOURCE_DATE_EPOCH": bad})
        assert str(err.value) == (
            f"SOURCE_DATE_EPOCH={bad!r} is not a whole number of seconds since 1970 "
            "(0 to 8589934591); set it to e.g. $(git log -1 --format=%ct) or unset it"
        )


@pytest.mark.parametrize("fmt", TAR_FORMATS)
def test_reader_sees_the_same_bundle_in_archive_and_directory(
    bundle: Path, tmp_path: Path, fmt: Format
) -> None:
    dest = tmp_path / f"app.{fmt}"
    write_archive(bundle, dest, top=TOP, options=ArchiveOptions(format=fmt))
    keep = {".pack/bundle.json"}.__contains__
    from_dir = list(read_bundle(bundle, digests=True, keep=keep))
    from_archive = list(read_bundle(dest, digests=True, keep=keep))
    # Directory modes are not normalised on disk; everything else must agree.
    assert from_archive == from_dir
    kept = [m for m in from_archive if m.data is not None]
    assert [m.path for m in kept] == [".pack/bundle.json"]
    assert kept[0].data == (bundle / ".pack" / "bundle.json").read_bytes()


def test_reader_rejects_what_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        list(read_bundle(tmp_path / "nope.tar.zst"))
    (tmp_path / "x.zip").write_bytes(b"PK")
    with pytest.raises(ConfigError, match=r"is not a pack archive \(\.tar\.zst"):
        list(read_bundle(tmp_path / "x.zip"))
    (tmp_path / "broken.tar.zst").write_bytes(zstandard.ZstdCompressor().compress(b"x" * 1000))
    with pytest.raises(ChecksumError, match=r"broken\.tar\.zst: not a readable tar archive"):
        list(read_bundle(tmp_path / "broken.tar.zst"))


def test_hard_links_are_stored_as_plain_files(tmp_path: Path) -> None:
    # Staged runtimes are hard links into the cache; whether two names share an inode depends
    # on the cache's history, so it must not show in the archive.
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a").write_bytes(b"same")
    os.link(tree / "a", tree / "b")
    dest = tmp_path / "x.tar.gz"
    write_archive(tree, dest, top="x", options=ArchiveOptions(format="tar.gz"))
    with tarfile.open(dest) as tar:
        assert [(m.name, m.isreg(), m.size) for m in tar] == [
            ("x", False, 0),
            ("x/a", True, 4),
            ("x/b", True, 4),
        ]


def _crafted(path: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return path


def test_reader_refuses_two_top_folders_and_escapes(tmp_path: Path) -> None:
    two = _crafted(tmp_path / "two.tar.gz", ["a/x", "b/y"])
    with pytest.raises(ChecksumError) as err:
        list(read_bundle(two))
    assert str(err.value) == (
        f"{two}: entries under both 'a' and 'b'; a pack archive holds one top folder"
    )
    escape = _crafted(tmp_path / "escape.tar.gz", ["a/x", "a/../../etc/passwd"])
    with pytest.raises(UnsafeArchiveError, match=r"entry 'a/\.\./\.\./etc/passwd' points outside"):
        list(read_bundle(escape))
