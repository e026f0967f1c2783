"""`.pack/files` and `bundle.json` as the runtime stub reads them: the exact line format, a
round trip, each kind of tampering named, and no import outside the standard library."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from pack_runtime.bundleinfo import BundleInfoError, parse_bundle_info, read_bundle_info
from pack_runtime.filelist import (
    Entry,
    FileListError,
    loads,
    read_files_list,
    scan_tree,
    verify_tree,
    write_files_list,
)
from tests.helpers.synthetic import SITE, UNICODE_FILE, example_manifest, make_bundle

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "app-1.0")


def test_line_format(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"#!/bin/sh\n")
    (root / "bin" / "tool").chmod(0o750)
    (root / "caf\u00e9.txt").write_bytes(b"")
    (root / "link").symlink_to("bin/tool")
    write_files_list(root)
    tool_digest = hashlib.sha256(b"#!/bin/sh\n").hexdigest()
    assert (root / ".pack" / "files").read_bytes().decode("utf-8").splitlines() == [
        f'{{"mode":"755","path":"bin/tool","sha256":"{tool_digest}","size":10,"type":"file"}}',
        '{"mode":"644","path":"caf\u00e9.txt","sha256":'
        '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0,'
        '"type":"file"}',
        '{"path":"link","target":"bin/tool","type":"link"}',
    ]
    assert (root / ".pack" / "files").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "entry",
    [
        Entry('we"ird\\na\u00efve\n\t\x01\u2028\U0001f600', "file", "ab" * 32, 12, "644"),
        Entry('bin/t\u00f6"l', "link", target='../x"\\\u00e9'),
        Entry("empty\x7f dir", "dir"),
        Entry("fifo", "other"),
    ],
)
def test_line_is_json_dumps_of_the_fields(entry: Entry) -> None:
    # The line is put together by hand for speed: it must stay exactly what json.dumps gives.
    fields = {
        "file": {"path", "type", "sha256", "size", "mode"},
        "link": {"path", "type", "target"},
    }.get(entry.type, {"path", "type"})
    obj = {k: v for k, v in vars(entry).items() if k in fields}
    assert entry.to_json() == json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    if entry.type != "other":  # "other" is only ever reported, never read back
        assert loads(entry.to_json() + "\n") == [entry]


def test_scan_is_sorted_and_leaves_out_the_list_itself(bundle: Path) -> None:
    entries = scan_tree(bundle)
    paths = [e.path for e in entries]
    assert paths == sorted(paths)
    assert ".pack/files" not in paths
    assert ".pack/bundle.json" in paths
    assert UNICODE_FILE in paths
    assert Entry("venv/bin/python", "link", target="../../python/bin/python3.11") in entries
    empty = sorted(
        Path(d).relative_to(bundle).as_posix()
        for d, dirs, files in os.walk(bundle)
        if not dirs and not files
    )
    assert [e.path for e in entries if e.type == "dir"] == empty  # only empty folders


def test_round_trip(bundle: Path) -> None:
    assert read_files_list(bundle / ".pack" / "files") == scan_tree(bundle)
    assert verify_tree(bundle).ok


def test_tampering_is_reported_by_path(bundle: Path) -> None:
    six = bundle / SITE / "six.py"
    six.write_bytes(six.read_bytes()[:-1] + b"X")  # one byte
    (bundle / "python" / "lib" / "python3.11" / "os.py").unlink()
    (bundle / "bin" / "extra").write_text("surprise")
    (bundle / "venv" / "bin" / "python").unlink()
    (bundle / "venv" / "bin" / "python").symlink_to("../../python/bin/python3")
    (bundle / "venv" / "pyvenv.cfg").chmod(0o755)
    report = verify_tree(bundle)
    assert not report.ok
    assert report.modified == [
        "venv/bin/python",
        f"{SITE}/six.py",
        "venv/pyvenv.cfg",
    ]
    assert report.missing == ["python/lib/python3.11/os.py"]
    assert report.unexpected == ["bin/extra"]


def test_file_turned_into_a_link_is_modified(bundle: Path) -> None:
    (bundle / "bin" / "app").unlink()
    (bundle / "bin" / "app").symlink_to("../venv/bin/app")
    assert verify_tree(bundle).modified == ["bin/app"]


def test_unpack_umask_is_not_a_change(bundle: Path) -> None:
    (bundle / "bin" / "app").chmod(0o700)
    (bundle / "venv" / "pyvenv.cfg").chmod(0o600)
    assert verify_tree(bundle).ok


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "files line 2: not a JSON object (Expecting value"),
        ("[]", "files line 2: not a JSON object"),
        (
            '{"path":"a","type":"fifo"}',
            "files line 2: type 'fifo' is not 'file', 'link' or 'dir'",
        ),
        ('{"path":"a","type":"link"}', "files line 2: 'target' is missing or not a str"),
        (
            '{"path":"a","type":"file","sha256":"x","size":true,"mode":"644"}',
            "files line 2: 'size' is missing or not a int",
        ),
        (
            '{"path":"a","type":"file","sha256":"x","size":1,"mode":"777"}',
            "files line 2: mode '777' is not '755' or '644'",
        ),
    ],
)
def test_malformed_lines_are_named(line: str, message: str) -> None:
    good = '{"path":"l","target":"x","type":"link"}'
    with pytest.raises(FileListError) as err:
        loads(f"{good}\n{line}\n", "files")
    assert str(err.value).startswith(message)


def test_bundle_info_reads_the_manifest(bundle: Path) -> None:
    info = read_bundle_info(bundle)
    assert info["schema"] == 1
    assert info["name"] == "app"
    assert info["python"]["asset"].startswith("cpython-3.11.7+")
    assert info["entry_points"][0]["module"] == "app.__main__"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "x.json: not valid JSON"),
        (b"[]", "x.json: not a JSON object"),
        (
            b'{"schema": 2}',
            "x.json: schema 2 is not 1, the only one this code reads; "
            "use the pack version that built the bundle",
        ),
        (b'{"schema": 1, "name": "a"}', "x.json: 'version' is missing or of the wrong type"),
    ],
)
def test_bundle_info_errors(data: bytes, message: str) -> None:
    with pytest.raises(BundleInfoError) as err:
        parse_bundle_info(data, "x.json")
    assert str(err.value).startswith(message)


def test_bundle_info_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BundleInfoError, match=r"bundle\.json: cannot be read \(No such file"):
        read_bundle_info(tmp_path)


def test_runtime_modules_use_the_standard_library_only(bundle: Path) -> None:
    # The system interpreter has no third-party packages on its path with -I -S.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pack_runtime import filelist, bundleinfo;"
        "from pathlib import Path;"
        "r = filelist.verify_tree(Path(sys.argv[2]));"
        "print(r.ok, bundleinfo.read_bundle_info(Path(sys.argv[2]))['name'])"
    )
    proc = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", code, str(REPO / "runtime_stub"), str(bundle)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == ["True", "app"]
    assert json.loads(example_manifest().to_json())["schema"] == 1
