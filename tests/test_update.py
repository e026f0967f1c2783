"""`self update` (pack_runtime/update.py): from a file and from a URL (https on 127.0.0.1),
digests, choices and refusals, switching `current`, concurrent and failed updates; and against
an attacker on the update channel or a crafted update: plain http, an https server that
redirects to http, code of the new version running before the operator agreed,
`bundle.json` fields that would become paths, links out of the bundle's top folder."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from pack_runtime.sums import sha256_file
from packager.bundlearchive import Format
from tests.helpers.http_server import Server, serve
from tests.helpers.stub import (
    OTHER_PYTHONS,
    archive_of,
    crafted_tar,
    deploy,
    launch,
    leftovers,
    modify_app,
    stub,
)
from tests.helpers.synthetic import runnable_bundle
from tests.helpers.tls import LocalCA, serve_https, server_context


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www") as state:
        yield state


def test_plain_http_without_a_digest_from_elsewhere_is_refused(
    tmp_path: Path, server: Server
) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    r = stub(d.root, "update", server.url(new), "--yes")
    assert (r.code, r.err) == (
        2,
        f"error: {server.url(new)}: plain http can be altered on the way, and so can the "
        ".sha256 beside it; use an https URL, or pass --sha256 HEX with the digest published "
        "elsewhere\n",
    )
    assert server.hits == {}
    assert str(d.current.readlink()) == "1.0"
    r = stub(d.root, "update", server.url(new), "--sha256", sha256_file(new), "--yes")
    assert r.code == 0, r.err


def test_https_with_the_sidecar_works_with_a_trusted_ca(tmp_path: Path, ca: LocalCA) -> None:
    d = deploy(tmp_path)
    (tmp_path / "www").mkdir()
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "www", "tar.gz")
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
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
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
    root = runnable_bundle(tmp_path / "build", version="2.0")
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
    root = runnable_bundle(tmp_path / "opt", version="1.0")
    marker = tmp_path / "ran"
    new = _planted(tmp_path, marker)
    r = stub(root, "update", str(new), answer="n")
    assert r.code == 1
    assert f"Install demo 2.0 in {tmp_path}/opt/demo-2.0 (its smoke test runs it)? [y/N]" in r.err
    assert not marker.exists()
    assert r.out.splitlines()[-1] == f"to smoke-test it: {root}/bin/demo self update {new} --yes"


def _with_info(tmp_path: Path, **fields: str) -> Path:
    root = runnable_bundle(tmp_path / "build", version="2.0")
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
    bad = crafted_tar(
        tmp_path / "demo-2.0.tar.gz",
        [("demo-2.0/", "dir", ""), ("demo-2.0/parentdir", "sym", "..")],
    )
    r = stub(d.root, "update", str(bad), "--sha256", sha256_file(bad), "--yes")
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
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
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
    root = runnable_bundle(tmp_path / "opt", version="1.0")  # /opt/demo-1.0: named by the archive
    new = archive_of(
        runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "d", top="other"
    )
    r = stub(root, "update", str(new), "--yes")
    assert (r.code, r.err.splitlines()[-1]) == (
        2,
        f"error: the archive's top folder is 'other', not demo-2.0; refusing to install it in "
        f"{tmp_path / 'opt'} under another name",
    )
    assert sorted(p.name for p in (tmp_path / "opt").iterdir()) == ["demo-1.0"]


@pytest.fixture
def tls_server(tmp_path: Path, ca: LocalCA) -> Iterator[Server]:
    """https on 127.0.0.1; tests give the stub its CA in SSL_CERT_FILE."""
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www", server_context(ca)) as state:
        yield state


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.zst"])
def test_update_from_a_file_switches_current(tmp_path: Path, fmt: Format) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist", fmt)
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"  # still relative
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"
    assert launch(d.root / "bin/demo").stdout == "demo 1.0\n"  # the old version stays
    assert r.out == (
        f"switched {d.current} to demo 2.0 ({d.app_dir}/2.0)\n"
        f"1.0 stays in {d.root}; to delete it: {d.root}/bin/demo self remove\n"
    )
    assert leftovers(d.app_dir) == []
    assert stub(d.app_dir / "2.0", "verify").code == 0


def test_update_through_the_launcher_and_current(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(
        runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist", "tar.zst"
    )
    proc = launch(d.current / "bin/demo", "self", "update", str(new), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "smoke-testing demo 2.0" in proc.stderr
    assert str(d.current.readlink()) == "2.0"
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"


def test_update_from_a_url_uses_the_sha256_beside_it(
    tmp_path: Path, tls_server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(
        runnable_bundle(tmp_path / "build", version="2.0"), tls_server.root / "rel", "tar.zst"
    )
    r = stub(d.root, "update", tls_server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"
    assert tls_server.hits == {f"rel/{new.name}.sha256": 1, f"rel/{new.name}": 1}


def test_update_from_a_url_with_a_given_digest(
    tmp_path: Path, tls_server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tls_server.root, "tar.gz")
    digest = sha256_file(new)
    new.with_name(new.name + ".sha256").unlink()
    r = stub(
        d.root,
        "update",
        tls_server.url(new),
        "--sha256",
        digest.upper(),
        "--yes",
        SSL_CERT_FILE=str(ca.ca_cert),
    )
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"


def test_update_with_a_bad_digest_is_refused_and_nothing_switched(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    actual = sha256_file(new)
    r = stub(d.root, "update", str(new), "--sha256", "0" * 64, "--yes")
    assert r.code == 4
    assert r.err.splitlines()[-1] == (
        f"error: {new}: sha256 mismatch: expected {'0' * 64}, got {actual}; the archive is "
        "corrupt or not the one that was published"
    )
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_update_from_a_url_with_a_bad_sidecar_is_refused(
    tmp_path: Path, tls_server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tls_server.root, "tar.gz")
    new.with_name(new.name + ".sha256").write_text(f"{'1' * 64}  {new.name}\n")
    r = stub(d.root, "update", tls_server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 4
    assert f"sha256 mismatch: expected {'1' * 64}, got {sha256_file(new)}" in r.err
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_a_sidecar_for_another_file_is_refused(
    tmp_path: Path, tls_server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tls_server.root, "tar.gz")
    new.with_name(new.name + ".sha256").write_text(f"{sha256_file(new)}  other.tar.gz\n")
    r = stub(d.root, "update", tls_server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 4
    assert r.err.splitlines()[-1] == (
        f"error: {tls_server.url(new)}.sha256 is the digest of 'other.tar.gz', not of '{new.name}'"
    )


def test_network_errors_are_reported_with_the_url(
    tmp_path: Path, tls_server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    missing = f"{tls_server.base}/nope.tar.zst"
    r = stub(d.root, "update", missing, "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 3
    assert r.err.splitlines()[-1] == f"error: GET {missing}.sha256: HTTP 404 Not Found"

    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tls_server.root, "tar.gz")
    tls_server.truncate.add(new.name)
    r = stub(d.root, "update", tls_server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 3
    size = new.stat().st_size
    assert r.err.splitlines()[-1] == (
        f"error: GET {tls_server.url(new)}: connection closed after {size // 2} of {size} bytes"
    )
    assert str(d.current.readlink()) == "1.0"
    assert leftovers(d.app_dir) == []


def test_a_file_without_digest_needs_sha256(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    new.with_name(new.name + ".sha256").unlink()
    r = stub(d.root, "update", str(new))
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {new}.sha256 not found; pass --sha256 HEX with the digest published for {new.name}"
    )
    r = stub(d.root, "update", str(new), "--sha256", "xyz")
    assert (r.code, r.err) == (2, "error: --sha256 'xyz' is not a sha256 digest (64 hex digits)\n")


def test_an_archive_of_another_app_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    other = archive_of(
        runnable_bundle(tmp_path / "build", name="other", version="9.0"), tmp_path / "dist"
    )
    r = stub(d.root, "update", str(other), "--yes")
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {other} holds other 9.0, not demo; refusing to replace one app with another"
    )
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_an_archive_for_another_target_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    root = runnable_bundle(tmp_path / "build", version="2.0")
    info = json.loads((root / ".pack/bundle.json").read_text())
    info["target"] = "aarch64-unknown-linux-gnu"
    (root / ".pack/bundle.json").write_text(json.dumps(info))
    write_files_list(root)
    r = stub(d.root, "update", str(archive_of(root, tmp_path / "dist")), "--yes")
    assert r.code == 2
    assert "is built for aarch64-unknown-linux-gnu, but this bundle runs on x86_64" in r.err


def test_the_running_version_again_is_nothing_to_do(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    same = archive_of(runnable_bundle(tmp_path / "build", version="1.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(same), "--yes")
    assert (r.code, r.out) == (0, f"demo 1.0 is already this bundle ({d.root}); nothing to do\n")
    assert leftovers(d.app_dir) == []


def test_without_current_the_new_version_is_unpacked_beside_and_announced(tmp_path: Path) -> None:
    (tmp_path / "opt").mkdir()
    root = runnable_bundle(tmp_path / "opt", version="1.0")  # /opt/demo-1.0, untarred in place
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    dest = tmp_path / "opt" / "demo-2.0"
    assert r.out == (
        f"demo 2.0 is ready in {dest} (verified and smoke-tested)\n"
        f"run it with: {dest}/bin/demo\n"
        f"1.0 stays in {root}; to delete it: {root}/bin/demo self remove\n"
    )
    assert launch(dest / "bin/demo").stdout == "demo 2.0\n"


def test_declined_switch_leaves_current_and_says_how(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), answer="n")
    assert r.code == 1
    assert f"Switch {d.current} from 1.0 to 2.0? [y/N] " in r.err
    assert str(d.current.readlink()) == "1.0"
    assert r.out.splitlines()[-2:] == [
        f"{d.current} still points at 1.0 (declined)",
        f"to smoke-test it and switch: {d.root}/bin/demo self update {new} --yes",
    ]
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"


def test_no_terminal_and_no_yes_does_not_switch_then_a_rerun_reuses(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new))
    assert r.code == 1
    assert f"{d.current} still points at 1.0 (no terminal to ask on; pass --yes)" in r.out
    assert str(d.current.readlink()) == "1.0"
    assert (d.app_dir / "2.0" / "bin/demo").exists()

    r = stub(d.root, "update", str(new), answer="y")
    assert r.code == 0, r.err
    assert f"{d.app_dir}/2.0 already holds demo 2.0, intact; using it" in r.err
    assert str(d.current.readlink()) == "2.0"


def test_an_existing_damaged_destination_is_not_reused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    (d.app_dir / "2.0").mkdir()
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {d.app_dir}/2.0 already exists and is not an intact demo 2.0; move it away or "
        "remove it, then run the update again"
    )
    assert str(d.current.readlink()) == "1.0"


def test_a_new_version_that_fails_its_smoke_test_is_not_moved_in(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    broken = runnable_bundle(tmp_path / "build", version="2.0")
    shutil.rmtree(broken / ".pack/runtime/__pycache__")
    (broken / ".pack/runtime/__main__.py").write_text("raise SystemExit('stub is broken')\n")
    write_files_list(broken)
    r = stub(d.root, "update", str(archive_of(broken, tmp_path / "dist")), "--yes")
    assert r.code == 5
    assert r.err.splitlines()[-1].endswith("failed (exit 1): stub is broken")
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]
    assert str(d.current.readlink()) == "1.0"


def test_a_new_version_that_does_not_match_its_file_list_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    bad = runnable_bundle(tmp_path / "build", version="2.0")
    modify_app(bad)
    r = stub(d.root, "update", str(archive_of(bad, tmp_path / "dist")), "--yes")
    assert r.code == 5
    assert "does not match its own .pack/files (1 modified, e.g. venv/lib/" in r.err
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_stale_work_dirs_are_removed_by_the_next_update(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    stale = d.app_dir / ".pack-update-demo-deadbeef"
    (stale / "tree" / "x").mkdir(parents=True)
    (stale / "tree" / "x").chmod(0o500)
    other_app = d.app_dir / ".pack-update-other-deadbeef"
    other_app.mkdir()
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert f"removed {stale}, left by an interrupted update" in r.err
    assert leftovers(d.app_dir) == [other_app.name]


def test_a_concurrent_update_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    fd = os.open(d.app_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = stub(d.root, "update", str(new), "--yes")
    finally:
        os.close(fd)
    assert (r.code, r.err) == (
        2,
        f"error: another `self update` or `self remove` is running in {d.app_dir}; wait for it "
        "to finish\n",
    )


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_read_only_parent_is_reported_and_the_bundle_still_runs(tmp_path: Path) -> None:
    # Root ignores permission bits, so the directory is made read-only with a bind mount.
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    sandbox = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(d.app_dir), str(d.app_dir)]
    proc = subprocess.run(
        [*sandbox, d.current / "bin/demo", "self", "update", new, "--yes"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 6
    assert proc.stderr.splitlines()[-1] == (
        f"error: cannot write in {d.app_dir} (Read-only file system); the new version is "
        "unpacked beside the running one, so update needs write access there"
    )
    assert str(d.current.readlink()) == "1.0"


@pytest.mark.parametrize("python", OTHER_PYTHONS)
def test_update_runs_on_other_pythons(tmp_path: Path, python: Path) -> None:
    app_dir = tmp_path / "opt" / "demo"
    app_dir.mkdir(parents=True)
    root = runnable_bundle(app_dir, version="1.0", dirname="1.0", python=python)
    (app_dir / "current").symlink_to("1.0")
    new = archive_of(
        runnable_bundle(tmp_path / "build", version="2.0", python=python),
        tmp_path / "dist",
        "tar.zst",
    )
    proc = launch(app_dir / "current/bin/demo", "self", "update", str(new), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert launch(app_dir / "current/bin/demo").stdout == "demo 2.0\n"
    assert launch(root / "bin/demo").stdout == "demo 1.0\n"
