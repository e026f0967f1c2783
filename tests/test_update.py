"""`self update` against an attacker on the update channel or a crafted update: plain http,
an https server that redirects to http, code of the new version running before the operator
agreed, `bundle.json` fields that would become paths, links out of the bundle's top folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from tests.helpers.http_server import Server, serve
from tests.helpers.tls import LocalCA, serve_https
from tests.test_runtime_stub import (
    _tar,
    archive_of,
    deploy,
    leftovers,
    make_bundle,
    sha256_of,
    stub,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www") as state:
        yield state


def test_plain_http_without_a_digest_from_elsewhere_is_refused(
    tmp_path: Path, server: Server
) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    r = stub(d.root, "update", server.url(new), "--yes")
    assert (r.code, r.err) == (
        2,
        f"error: {server.url(new)}: plain http can be altered on the way, and so can the "
        ".sha256 beside it; use an https URL, or pass --sha256 HEX with the digest published "
        "elsewhere\n",
    )
    assert server.hits == {}
    assert str(d.current.readlink()) == "1.0"
    r = stub(d.root, "update", server.url(new), "--sha256", sha256_of(new), "--yes")
    assert r.code == 0, r.err


def test_https_with_the_sidecar_works_with_a_trusted_ca(tmp_path: Path, ca: LocalCA) -> None:
    d = deploy(tmp_path)
    (tmp_path / "www").mkdir()
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "www", "tar.gz")
    with serve_https(ca, tmp_path / "www") as https:
        url = f"{https.base}/{new.name}"
        r = stub(d.root, "update", url, "--yes")
        assert r.code == 3
        assert r.err.splitlines()[-1].startswith(f"error: GET {url}.sha256: [SSL: CERTIFICATE_")
        r = stub(d.root, "update", url, "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"


def test_a_redirect_from_https_to_http_is_not_followed(
    tmp_path: Path, ca: LocalCA, server: Server
) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    (tmp_path / "empty").mkdir()
    with serve_https(ca, tmp_path / "empty") as https:
        https.target = server.base
        url = f"{https.base}/{new.name}"
        r = stub(d.root, "update", url, "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert (r.code, r.err.splitlines()[-1]) == (
        2,
        f"error: GET {url}.sha256: redirected to {server.base}/{new.name}.sha256, which is not "
        "https; refusing to leave https (fix the server, or give the final https URL)",
    )
    assert server.hits == {}
    assert str(d.current.readlink()) == "1.0"


def _planted(tmp_path: Path, marker: Path) -> Path:
    """Version 2.0 whose stub leaves `marker` behind when it runs (the smoke test runs it)."""
    root = make_bundle(tmp_path / "build", version="2.0")
    main = root / ".pack/runtime/__main__.py"
    main.write_text(f"open({str(marker)!r}, 'w').close()\n" + main.read_text())
    shutil.rmtree(root / ".pack/runtime/__pycache__", ignore_errors=True)
    write_files_list(root)
    return archive_of(root, tmp_path / "dist")


@pytest.mark.parametrize("answer", [None, "n"])
def test_nothing_of_the_new_version_runs_before_the_operator_agrees(
    tmp_path: Path, answer: str | None
) -> None:
    d = deploy(tmp_path)
    marker = tmp_path / "ran"
    new = _planted(tmp_path, marker)
    r = stub(d.root, "update", str(new), answer=answer)
    assert r.code == 1
    assert not marker.exists()
    assert "smoke-testing" not in r.err
    why = "no terminal to ask on; pass --yes" if answer is None else "declined"
    assert r.out.splitlines() == [
        f"demo 2.0 is unpacked in {d.app_dir}/2.0 (verified, not run: {why})",
        f"{d.current} still points at 1.0 ({why})",
        f"to smoke-test it and switch: {d.root}/bin/demo self update {new} --yes",
    ]
    assert str(d.current.readlink()) == "1.0"
    r = stub(d.root, "update", str(new), answer="y")
    assert r.code == 0, r.err
    assert marker.exists()  # the same bundle does run once agreed to: the check above can fail
    assert str(d.current.readlink()) == "2.0"


def test_without_current_the_operator_is_asked_before_the_smoke_test(tmp_path: Path) -> None:
    (tmp_path / "opt").mkdir()
    root = make_bundle(tmp_path / "opt", version="1.0")
    marker = tmp_path / "ran"
    new = _planted(tmp_path, marker)
    r = stub(root, "update", str(new), answer="n")
    assert r.code == 1
    assert f"Install demo 2.0 in {tmp_path}/opt/demo-2.0 (its smoke test runs it)? [y/N]" in r.err
    assert not marker.exists()
    assert r.out.splitlines()[-1] == f"to smoke-test it: {root}/bin/demo self update {new} --yes"


def _with_info(tmp_path: Path, **fields: str) -> Path:
    root = make_bundle(tmp_path / "build", version="2.0")
    info = json.loads((root / ".pack/bundle.json").read_text())
    info.update(fields)
    (root / ".pack/bundle.json").write_text(json.dumps(info))
    write_files_list(root)
    return archive_of(root, tmp_path / "dist", top="demo-2.0")


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("version", "../x", "has a path separator"),
        ("version", "/tmp/evil", "has a path separator"),
        ("version", "..", "is not a file name"),
        ("version", "2.0\n", "has a control character"),
        ("name", "de/mo", "has a path separator"),
        ("target", "", "is not a file name"),
    ],
)
def test_bundle_json_fields_that_become_paths_are_validated(
    tmp_path: Path, key: str, value: str, why: str
) -> None:
    d = deploy(tmp_path)
    new = _with_info(tmp_path, **{key: value})
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 2
    assert r.err.splitlines()[-1].startswith(f"error: {new}: {d.app_dir}/.pack-update-demo-")
    assert r.err.splitlines()[-1].endswith(
        f"/.pack/bundle.json: {key} {value!r} {why}; the bundle is damaged or was not built by pack"
    )
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]
    assert not (tmp_path / "x").exists() and not Path("/tmp/evil").exists()


def test_a_link_to_the_install_directory_inside_an_update_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    bad = _tar(
        tmp_path / "demo-2.0.tar.gz",
        [("demo-2.0/", "dir", ""), ("demo-2.0/parentdir", "sym", "..")],
    )
    r = stub(d.root, "update", str(bad), "--sha256", sha256_of(bad), "--yes")
    assert r.code == 4
    assert r.err.splitlines()[-1].endswith(
        "/demo-2.0.tar.gz: refusing entry 'demo-2.0/parentdir' (link target '..' is outside "
        "the bundle's top folder); the archive is corrupt or malicious"
    )
    assert leftovers(d.app_dir) == []


def test_the_unpacked_size_bound_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--yes", "--max-size", "4K")
    assert r.code == 4
    assert r.err.splitlines()[-1].endswith(
        ": refusing it: it unpacks to more than 4.0 KiB, the most pack accepts; the archive "
        "is corrupt or malicious"
    )
    assert leftovers(d.app_dir) == []
    r = stub(d.root, "update", str(new), "--yes", "--max-size", "lots")
    assert r.code == 2
    # argparse prints usage errors itself, on the process's stderr
    assert "argument --max-size: 'lots' is not a size; write e.g. 40G or 500M" in (
        capsys.readouterr().err
    )
    r = stub(d.root, "update", str(new), "--yes", "--max-size", "2G")
    assert r.code == 0, r.err


def test_an_update_s_top_folder_must_be_its_name_and_version(tmp_path: Path) -> None:
    (tmp_path / "opt").mkdir()
    root = make_bundle(tmp_path / "opt", version="1.0")  # /opt/demo-1.0: named by the archive
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "d", top="other")
    r = stub(root, "update", str(new), "--yes")
    assert (r.code, r.err.splitlines()[-1]) == (
        2,
        f"error: the archive's top folder is 'other', not demo-2.0; refusing to install it in "
        f"{tmp_path / 'opt'} under another name",
    )
    assert sorted(p.name for p in (tmp_path / "opt").iterdir()) == ["demo-1.0"]
