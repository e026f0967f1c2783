"""Interpreter requests, catalog resolution for every target, mirrors, pack.lock pins, and
obtain_interpreter against a real HTTP server and file:// mirrors serving a
python-build-standalone-format release made from the local interpreter."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from packager import cache as cache_mod
from packager.context import Context, RecordingReporter
from packager.download import NotFoundError
from packager.errors import ChecksumError, ConfigError, NetworkError
from packager.pythons import (
    FLAVORS,
    PIN_FILE,
    Asset,
    Catalog,
    InterpreterArchive,
    Pin,
    cached_archives,
    mirror_base,
    obtain_interpreter,
    parse_request,
    read_pins,
    write_pins,
)
from packager.pythons.catalog import ReleaseLookup, plan
from packager.pythons.mirror import UPSTREAM
from packager.pythons.request import Request
from packager.targets import KNOWN_TRIPLES, Target
from tests.conftest import FaultServer, PbsRelease

TARGET = Target("x86_64-unknown-linux-gnu")
GNU = "x86_64-unknown-linux-gnu"


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(cache_dir=tmp_path / "cache", environ={}, reporter=RecordingReporter())


@pytest.fixture
def server(fault_server: FaultServer, pbs_release: PbsRelease) -> FaultServer:
    fault_server.root = pbs_release.base
    return fault_server


def obtain(ctx: Context, **kw: Any) -> InterpreterArchive:
    args: dict[str, Any] = {
        "request": None,
        "variant": None,
        "flavor": None,
        "archive": None,
        "target": TARGET,
        "mirror": None,
        "pin_file": None,
    }
    args.update(kw)
    return obtain_interpreter(ctx, **args)


def path_of(release: PbsRelease, file: Path) -> str:
    return f"/{release.tag}/{quote(file.name)}"


# Requests


@pytest.mark.parametrize(
    ("text", "variant", "flavor", "expected"),
    [
        ("3.12", None, None, Request(release=(3, 12))),
        ("3.12.7", None, None, Request(release=(3, 12, 7))),
        (" 3.12.7+20241016 ", None, None, Request(release=(3, 12, 7), tag="20241016")),
        ("3.13t", None, None, Request(release=(3, 13), freethreaded=True)),
        ("3.13.1t+20250115", None, None, Request((3, 13, 1), tag="20250115", freethreaded=True)),
        ("3.13", "freethreaded", None, Request(release=(3, 13), freethreaded=True)),
        ("3.13t", "freethreaded", None, Request(release=(3, 13), freethreaded=True)),
        ("cpython-3.12", "default", None, Request(release=(3, 12))),
        ("3.14.0rc1", None, None, Request(release=(3, 14, 0), pre="rc1")),
        ("3", None, "install_only", Request(release=(3,), flavor="install_only")),
        (None, None, None, Request()),
        (None, "freethreaded", None, Request(freethreaded=True)),
    ],
)
def test_request_forms(
    text: str | None, variant: str | None, flavor: str | None, expected: Request
) -> None:
    assert parse_request(text, variant=variant, flavor=flavor) == expected


@pytest.mark.parametrize(
    ("text", "variant", "flavor", "message"),
    [
        (
            "python3",
            None,
            None,
            "invalid Python request 'python3': expected a version like 3.12, "
            "3.12.7, 3.12.7+20241016 (a release tag) or 3.13t (free-threaded)",
        ),
        (
            "3.12+2024",
            None,
            None,
            "invalid Python request '3.12+2024': expected a version like "
            "3.12, 3.12.7, 3.12.7+20241016 (a release tag) or 3.13t (free-threaded)",
        ),
        ("2.7", None, None, "invalid Python request '2.7': pack bundles CPython 3 only"),
        (
            "3.14rc1",
            None,
            None,
            "invalid Python request '3.14rc1': name a pre-release in full, e.g. 3.14.0rc1",
        ),
        (
            "3.12t",
            None,
            None,
            "Python request '3.12t': free-threaded builds exist from CPython 3.13 on",
        ),
        (
            "3.13t",
            "default",
            None,
            "Python request '3.13t' asks for a free-threaded build but the "
            "variant is 'default'; drop the 't' or the --python-variant option",
        ),
        (
            "3.13",
            "freethread",
            None,
            "unknown Python variant 'freethread' (did you mean "
            "freethreaded?); use one of: default, freethreaded",
        ),
        (
            "3.13",
            None,
            "install-only",
            "unknown Python flavor 'install-only' (did you mean "
            "install_only?); use one of: install_only_stripped, install_only",
        ),
    ],
)
def test_request_errors(text: str, variant: str | None, flavor: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_request(text, variant=variant, flavor=flavor)
    assert str(err.value) == message


def test_request_matching_is_by_version_component() -> None:
    req = parse_request("3.1")
    assert req.accepts_version("3.1.4")
    assert not req.accepts_version("3.12.0")  # a prefix of numbers, not of text
    minor = parse_request("3.14")
    assert minor.accepts_version("3.14.2")
    assert not minor.accepts_version("3.14.0rc1")  # pre-releases only by name
    assert parse_request("3.14.0rc1").accepts_version("3.14.0rc1")
    assert str(parse_request("3.13.1t+20250115")) == "3.13.1t+20250115"
    assert str(parse_request(None)) == "newest"


# The catalog and resolution


def test_bundled_catalog_comes_from_pbs_installer() -> None:
    catalog = Catalog.bundled()  # imports pbs_installer's data first, quietly
    from pbs_installer._versions import PYTHON_VERSIONS

    assert catalog.source.startswith("pbs-installer ")
    assert len(catalog.assets) > 100
    assert all(a.sha256 and len(a.sha256) == 64 for a in catalog.assets)
    assert {a.triple for a in catalog.assets} == {
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    }
    assert {a.flavor for a in catalog.assets} <= set(FLAVORS)
    listed = {
        url.rsplit("/", 1)[1].replace("%2B", "+"): sha
        for files in PYTHON_VERSIONS.values()
        for url, sha in files.values()
    }
    for asset in catalog.assets:
        assert listed[asset.filename] == asset.sha256


@pytest.mark.parametrize("triple", KNOWN_TRIPLES)
def test_every_target_resolves_to_one_asset(triple: str) -> None:
    target = Target(triple)
    asset = plan(parse_request("3.12"), target, Catalog.bundled())
    assert isinstance(asset, Asset)
    assert asset.triple == triple
    assert asset.version.startswith("3.12.")
    assert asset.flavor == "install_only_stripped"
    assert asset.filename.startswith(f"cpython-{asset.version}+{asset.tag}-{triple}-")
    # The catalog lists the baseline glibc and macOS builds; musl and x86-64-v2..v4 builds
    # get their digest from the release's SHA256SUMS.
    listed = triple in {a.triple for a in Catalog.bundled().assets}
    assert (asset.sha256 is not None) == listed


def bundled_sha(filename: str) -> str:
    Catalog.bundled()
    from pbs_installer._versions import PYTHON_VERSIONS

    for files in PYTHON_VERSIONS.values():
        for url, sha in files.values():
            if url.endswith("/" + quote(filename)):
                return str(sha)
    raise AssertionError(filename)


@pytest.mark.parametrize(
    ("request_text", "triple", "variant", "flavor", "filename", "listed"),
    [
        (
            "3.12.7",
            GNU,
            None,
            None,
            "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
            True,
        ),
        (
            "3.12.7+20241016",
            GNU,
            None,
            None,
            "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
            True,
        ),
        (
            "3.12.7",
            GNU,
            None,
            "install_only",
            "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only.tar.gz",
            False,
        ),
        (
            "3.12.7",
            "aarch64-unknown-linux-gnu",
            None,
            None,
            "cpython-3.12.7+20241016-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz",
            True,
        ),
        (
            "3.12.7",
            "x86_64-unknown-linux-musl",
            None,
            None,
            "cpython-3.12.7+20241016-x86_64-unknown-linux-musl-install_only_stripped.tar.gz",
            False,
        ),
        (
            "3.12.7",
            "x86_64_v3-unknown-linux-gnu",
            None,
            None,
            "cpython-3.12.7+20241016-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz",
            False,
        ),
        (
            "3.12.7",
            "aarch64-apple-darwin",
            None,
            None,
            "cpython-3.12.7+20241016-aarch64-apple-darwin-install_only_stripped.tar.gz",
            True,
        ),
        (
            "3.13.12t",
            GNU,
            None,
            None,
            "cpython-3.13.12+20260325-x86_64-unknown-linux-gnu-freethreaded-install_only_stripped"
            ".tar.gz",
            True,
        ),
        (
            "3.13.12",
            "x86_64-apple-darwin",
            "freethreaded",
            None,
            "cpython-3.13.12+20260325-x86_64-apple-darwin-freethreaded-install_only_stripped.tar.gz",
            True,
        ),
        (
            "3.13.12t",
            "aarch64-unknown-linux-musl",
            None,
            "install_only",
            "cpython-3.13.12+20260325-aarch64-unknown-linux-musl-freethreaded-install_only.tar.gz",
            False,
        ),
        # Releases from before stripped builds existed: the default takes install_only.
        (
            "3.11.7",
            GNU,
            None,
            None,
            "cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz",
            True,
        ),
    ],
)
def test_resolution(
    request_text: str,
    triple: str,
    variant: str | None,
    flavor: str | None,
    filename: str,
    listed: bool,
) -> None:
    req = parse_request(request_text, variant=variant, flavor=flavor)
    asset = plan(req, Target(triple), Catalog.bundled())
    assert isinstance(asset, Asset)
    assert asset.filename == filename
    assert asset.sha256 == (bundled_sha(filename) if listed else None)


def test_minor_request_takes_the_newest_patch_and_none_the_newest_release() -> None:
    catalog = Catalog.bundled()
    gnu = [a for a in catalog.assets if a.triple == GNU and not a.freethreaded]
    newest_312 = max((a for a in gnu if a.version.startswith("3.12.")), key=Asset.sort_key)
    assert plan(parse_request("3.12"), TARGET, catalog) == newest_312
    assert plan(parse_request(None), TARGET, catalog) == max(gnu, key=Asset.sort_key)


def test_unknown_tag_is_looked_up_in_the_release() -> None:
    got = plan(parse_request("3.12.99+20990101"), TARGET, Catalog.bundled())
    assert got == ReleaseLookup("20990101")
    # The catalog knows the release but not this build of it (no free-threaded install_only
    # in its data): the release's SHA256SUMS decides.
    got = plan(parse_request("3.13.1t+20250115"), TARGET, Catalog.bundled())
    assert got == ReleaseLookup("20250115")


def synthetic_catalog() -> Catalog:
    names = [
        f"cpython-{v}+{tag}-{GNU}-{ft}install_only_stripped.tar.gz"
        for v, tag, ft in [
            ("3.11.9", "20240415", ""),
            ("3.12.6", "20241002", ""),
            ("3.12.7", "20241016", ""),
            ("3.12.8", "20241206", ""),
            ("3.13.0", "20241016", ""),
            ("3.13.1", "20241206", ""),
            ("3.13.1", "20241206", "freethreaded-"),
        ]
    ]
    assets = tuple(a for a in (Asset.parse(n, "a" * 64) for n in names) if a)
    return Catalog(assets, source="a test catalog")


@pytest.mark.parametrize(
    ("text", "flavor", "message"),
    [
        (
            "3.12.99",
            None,
            "no CPython 3.12.99 for x86_64-unknown-linux-gnu in the catalog (a test "
            "catalog); nearest available: 3.13.1, 3.12.8, 3.12.7, 3.12.6, 3.11.9; pick one of "
            "these, "
            "or name a newer release with its tag (VERSION+YYYYMMDD) to resolve it from the mirror",
        ),
        (
            "3.10",
            None,
            "no CPython 3.10 for x86_64-unknown-linux-gnu in the catalog (a test "
            "catalog); nearest available: 3.13.1, 3.12.8, 3.11.9; pick one of these, or name a "
            "newer release with its tag (VERSION+YYYYMMDD) to resolve it from the mirror",
        ),
        (
            "3.14t",
            None,
            "no CPython 3.14t for x86_64-unknown-linux-gnu in the catalog (a test "
            "catalog); nearest available: 3.13.1t; pick one of these, or name a newer release with "
            "its tag (VERSION+YYYYMMDD) to resolve it from the mirror",
        ),
    ],
)
def test_unknown_request_lists_the_nearest_versions(
    text: str, flavor: str | None, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        plan(parse_request(text, flavor=flavor), TARGET, synthetic_catalog())
    assert str(err.value) == message


def test_nearest_versions_respect_the_target() -> None:
    with pytest.raises(ConfigError) as err:
        plan(parse_request("3.12"), Target("aarch64-apple-darwin"), synthetic_catalog())
    assert "for aarch64-apple-darwin in the catalog (a test catalog); it offers nothing" in str(
        err.value
    )


# Mirrors


def test_mirror_precedence_and_forms(tmp_path: Path) -> None:
    env = {
        "PACK_PYTHON_MIRROR": "https://pack.example/pbs/",
        "UV_PYTHON_INSTALL_MIRROR": "https://uv.example",
    }
    assert mirror_base("http://flag.example/x/", env) == "http://flag.example/x"
    assert mirror_base(None, env) == "https://pack.example/pbs"
    assert (
        mirror_base(None, {"UV_PYTHON_INSTALL_MIRROR": "https://uv.example"})
        == "https://uv.example"
    )
    assert mirror_base(None, {}) is None
    assert mirror_base(str(tmp_path), {}) == tmp_path.as_uri()
    assert mirror_base("file:///srv/pbs", {}) == "file:///srv/pbs"
    with pytest.raises(ConfigError) as err:
        mirror_base(None, {"PACK_PYTHON_MIRROR": "ftp://pbs.example"})
    assert str(err.value) == (
        "PACK_PYTHON_MIRROR: 'ftp://pbs.example' is not a mirror; use an http(s):// or file:// "
        "URL or a local directory laid out as <base>/<release tag>/<file name>"
    )


def test_fetches_a_release_newer_than_the_catalog_from_an_http_mirror(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    found = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}", mirror=server.base)
    sha = pbs_release.sha256(pbs_release.stripped)
    assert found.sha256 == sha
    assert found.path == ctx.cache_dir / "downloads" / sha / pbs_release.stripped.name
    assert found.path.read_bytes() == pbs_release.stripped.read_bytes()
    assert (found.filename, found.version, found.tag, found.triple, found.flavor) == (
        pbs_release.stripped.name,
        pbs_release.version,
        pbs_release.tag,
        GNU,
        "install_only_stripped",
    )
    assert not found.freethreaded
    assert [r["path"] for r in server.log] == [
        f"/{pbs_release.tag}/SHA256SUMS",
        path_of(pbs_release, pbs_release.stripped),
    ]
    # Warm: the digest is read again, the archive is not.
    again = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}", mirror=server.base)
    assert again == found
    assert len(server.requests(path_of(pbs_release, pbs_release.stripped))) == 1
    assert cached_archives(ctx) == [found]


def test_flavor_and_partial_version_from_the_release(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    minor = ".".join(pbs_release.version.split(".")[:2])
    found = obtain(
        ctx, request=f"{minor}+{pbs_release.tag}", flavor="install_only", mirror=server.base
    )
    assert found.filename == pbs_release.install_only.name
    assert found.sha256 == pbs_release.sha256(pbs_release.install_only)


def test_file_mirror_from_the_environment_works_offline(
    tmp_path: Path, pbs_release: PbsRelease
) -> None:
    ctx = Context(
        cache_dir=tmp_path / "cache",
        offline=True,
        environ={"PACK_PYTHON_MIRROR": pbs_release.base.as_uri()},
    )
    found = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}")
    assert found.sha256 == pbs_release.sha256(pbs_release.stripped)
    assert found.path.parent.parent == tmp_path / "cache" / "downloads"


def test_uv_mirror_variable_is_honoured(
    tmp_path: Path, server: FaultServer, pbs_release: PbsRelease
) -> None:
    ctx = Context(cache_dir=tmp_path / "cache", environ={"UV_PYTHON_INSTALL_MIRROR": server.base})
    found = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}")
    assert found.filename == pbs_release.stripped.name
    assert len(server.log) == 2


def test_release_without_the_target_says_what_it_has(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=request, target=Target("aarch64-unknown-linux-gnu"), mirror=server.base)
    assert str(err.value) == (
        f"release {pbs_release.tag} at {server.base} has no CPython {request} for "
        "aarch64-unknown-linux-gnu; it has nothing for aarch64-unknown-linux-gnu (it has: "
        "x86_64-unknown-linux-gnu)"
    )
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=f"3.11.99+{pbs_release.tag}", mirror=server.base)
    assert str(err.value) == (
        f"release {pbs_release.tag} at {server.base} has no CPython 3.11.99+{pbs_release.tag} "
        f"for {GNU}; for {GNU} it has: {pbs_release.version} install_only_stripped, "
        f"{pbs_release.version} install_only"
    )


def test_unknown_release_tag(ctx: Context, server: FaultServer, pbs_release: PbsRelease) -> None:
    with pytest.raises(NotFoundError) as err:
        obtain(ctx, request=f"{pbs_release.version}+20990102", mirror=server.base)
    assert str(err.value) == (
        f"release 20990102 is not at {server.base} ({server.base}/20990102/SHA256SUMS was not "
        "found); check the release tag and the mirror"
    )


def test_404_for_the_archive_lists_what_the_release_has(
    ctx: Context, fault_server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    mirror = pbs_release.copy_to(tmp_path / "mirror")
    mirror.stripped.unlink()
    fault_server.root = mirror.base
    url = fault_server.url(path_of(mirror, mirror.stripped))
    with pytest.raises(NetworkError) as err:
        obtain(ctx, request=f"{mirror.version}+{mirror.tag}", mirror=fault_server.base)
    assert str(err.value) == (
        f"{url} was not found (HTTP 404); check the URL or mirror; release {mirror.tag} there: "
        f"for {GNU} it has: {mirror.version} install_only_stripped, {mirror.version} install_only"
    )
    assert leftovers(ctx) == []


def leftovers(ctx: Context) -> list[str]:
    """What the cache's downloads folder holds besides entry lock files."""
    root = ctx.cache_dir / "downloads"
    return (
        sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock"))
        if root.is_dir()
        else []
    )


def test_wrong_checksum_leaves_nothing_in_the_cache(
    ctx: Context, fault_server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    mirror = pbs_release.copy_to(tmp_path / "mirror")
    sums = mirror.dir / "SHA256SUMS"
    sums.unlink()  # a hard link: replace, do not edit the shared file
    wrong = "0" * 64
    sums.write_text(f"{wrong}  {mirror.stripped.name}\n")
    fault_server.root = mirror.base
    url = fault_server.url(path_of(mirror, mirror.stripped))
    with pytest.raises(ChecksumError) as err:
        obtain(ctx, request=f"{mirror.version}+{mirror.tag}", mirror=fault_server.base)
    actual = mirror.sha256(mirror.stripped)
    assert str(err.value).startswith(f"{url}: sha256 is {actual}, expected {wrong}; ")
    assert leftovers(ctx) == []


def test_failures_on_the_way_are_retried_and_resumed(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    path = path_of(pbs_release, pbs_release.stripped)
    server.fail(path, ("status", 500), ("drop", 1_000_000))
    found = obtain(ctx, request=f"{pbs_release.version}+{pbs_release.tag}", mirror=server.base)
    assert found.path.read_bytes() == pbs_release.stripped.read_bytes()
    assert [(r["status"], r["range"]) for r in server.requests(path)] == [
        (500, None),
        (200, None),
        (206, "bytes=1000000-"),
    ]


def test_damaged_cache_entry_is_fetched_again(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    found = obtain(ctx, request=request, mirror=server.base)
    found.path.unlink()
    again = obtain(ctx, request=request, mirror=server.base)
    assert again.path.read_bytes() == pbs_release.stripped.read_bytes()
    assert len(server.requests(path_of(pbs_release, pbs_release.stripped))) == 2


# Offline


def test_offline_with_a_warm_cache_uses_it(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    request = f"{pbs_release.version}+{pbs_release.tag}"
    found = obtain(ctx, request=request, mirror=server.base)
    seen = len(server.log)
    offline = Context(cache_dir=ctx.cache_dir, offline=True, environ={})
    assert obtain(offline, request=request, mirror=server.base) == found
    assert obtain(offline, request=request) == found  # no mirror needed either
    pin_file = tmp_path / PIN_FILE
    write_pins(pin_file, {GNU: Pin(GNU, found.filename, "https://unused.example/x", found.sha256)})
    assert obtain(offline, pin_file=pin_file) == found
    assert len(server.log) == seen


def test_offline_with_a_cold_cache_says_what_is_missing(
    ctx: Context, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    offline = Context(cache_dir=ctx.cache_dir, offline=True, environ={})
    downloads = ctx.cache_dir / "downloads"
    with pytest.raises(NetworkError) as err:
        obtain(offline, request="3.12.7")
    assert str(err.value) == (
        "offline (--offline): "
        "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz is not in "
        f"the cache ({downloads}); run `pack python fetch 3.12.7+20241016 --target {GNU}` with "
        "network access first (or carry in a cache that has it), pass --python-archive PATH, or "
        "use a file:// mirror"
    )
    request = f"{pbs_release.version}+{pbs_release.tag}"
    with pytest.raises(NetworkError) as err:
        obtain(offline, request=request, mirror="http://127.0.0.1:9/pbs")
    assert str(err.value) == (
        f"offline (--offline): CPython {request} for {GNU} is not in the cache ({downloads}) and "
        f"its digest is in http://127.0.0.1:9/pbs/{pbs_release.tag}/SHA256SUMS, which cannot be "
        f"fetched; run `pack python fetch {request} --target {GNU}` with network access first, "
        "pass --python-archive PATH, or use a file:// mirror"
    )
    pin_file = tmp_path / PIN_FILE
    name = pbs_release.install_only.name
    write_pins(pin_file, {GNU: Pin(GNU, name, "https://pbs.example/x", "c" * 64)})
    with pytest.raises(NetworkError) as err:
        obtain(offline, pin_file=pin_file)
    assert f"run `pack python fetch {request} --target {GNU} --python-flavor install_only` " in (
        str(err.value)
    )


# Pins


def test_pin_wins_over_resolution_and_the_mirror_over_the_pin_url(
    ctx: Context, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    pin_file = tmp_path / PIN_FILE
    sha = pbs_release.sha256(pbs_release.install_only)
    dead = f"http://127.0.0.1:9/{pbs_release.tag}/{quote(pbs_release.install_only.name)}"
    write_pins(pin_file, {GNU: Pin(GNU, pbs_release.install_only.name, dead, sha, "3.11")})
    found = obtain(ctx, request="3.11", pin_file=pin_file, mirror=pbs_release.base.as_uri())
    assert found.filename == pbs_release.install_only.name
    assert found.sha256 == sha
    with pytest.raises(ConfigError) as err:
        obtain(ctx, request="3.12", pin_file=pin_file)
    assert str(err.value) == (
        f"{pin_file} pins {pbs_release.version}+{pbs_release.tag} for {GNU}, which does not "
        f"satisfy the requested Python 3.12; run `pack python lock 3.12 --target {GNU}` to "
        "change the pin"
    )
    with pytest.raises(ConfigError):
        obtain(ctx, flavor="install_only_stripped", pin_file=pin_file)
    # A pin for another target does not apply.
    with pytest.raises(NetworkError, match=r"^offline"):
        obtain(
            Context(cache_dir=ctx.cache_dir, offline=True, environ={}),
            request="3.12.7",
            target=Target("aarch64-unknown-linux-gnu"),
            pin_file=pin_file,
        )


def test_pin_url_is_used_without_a_mirror(
    ctx: Context, server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    pin_file = tmp_path / PIN_FILE
    path = path_of(pbs_release, pbs_release.stripped)
    sha = pbs_release.sha256(pbs_release.stripped)
    write_pins(pin_file, {GNU: Pin(GNU, pbs_release.stripped.name, server.url(path), sha)})
    found = obtain(ctx, pin_file=pin_file)
    assert found.sha256 == sha
    assert [r["path"] for r in server.log] == [path]  # no SHA256SUMS: the pin has the digest


def test_pin_file_round_trip_keeps_other_tables(tmp_path: Path) -> None:
    pin_file = tmp_path / PIN_FILE
    pin_file.write_text('version = 1\n\n[other]\nkey = "kept"\n')
    name = f"cpython-3.12.7+20241016-{GNU}-install_only_stripped.tar.gz"
    pins = {GNU: Pin(GNU, name, f"{UPSTREAM}/20241016/x", "A" * 64, "3.12")}
    write_pins(pin_file, pins)
    text = pin_file.read_text()
    assert text.startswith("# Written by `pack python lock`")
    assert 'key = "kept"' in text
    assert read_pins(pin_file) == {GNU: Pin(GNU, name, f"{UPSTREAM}/20241016/x", "a" * 64, "3.12")}
    assert read_pins(tmp_path / "missing.lock") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("python = [", "is not valid TOML"),
        ("python = 1", ": 'python' must be a table of pins by target"),
        (
            f'[python."{GNU}"]\nurl = "u"\nsha256 = "{"a" * 64}"',
            f': python."{GNU}".filename must be a non-empty string; run `pack python lock` to '
            "rewrite the pin",
        ),
        (
            f'[python."{GNU}"]\nfilename = "x.tar.gz"\nurl = "u"\nsha256 = "abc"',
            f": python.\"{GNU}\".sha256 must be 64 hex digits, not 'abc'",
        ),
        (
            f'[python."{GNU}"]\nfilename = "x.tar.gz"\nurl = "u"\nsha256 = "{"a" * 64}"',
            f": python.\"{GNU}\".filename 'x.tar.gz' is not a python-build-standalone install_only "
            "archive name",
        ),
        (
            f'[python."{GNU}"]\nfilename = '
            '"cpython-3.12.7+20241016-aarch64-apple-darwin-install_only'
            f'.tar.gz"\nurl = "u"\nsha256 = "{"a" * 64}"',
            f': python."{GNU}".filename \'cpython-3.12.7+20241016-aarch64-apple-darwin-install_only'
            f".tar.gz' is for aarch64-apple-darwin, not {GNU}",
        ),
    ],
)
def test_bad_pin_files_name_the_key(tmp_path: Path, content: str, message: str) -> None:
    pin_file = tmp_path / PIN_FILE
    pin_file.write_text(content + "\n")
    with pytest.raises(ConfigError) as err:
        read_pins(pin_file)
    assert str(err.value).startswith(str(pin_file))
    assert message in str(err.value)


# Explicit archives


def test_explicit_archive_wins_and_is_checked(
    ctx: Context, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    pin_file = tmp_path / PIN_FILE
    write_pins(
        pin_file, {GNU: Pin(GNU, pbs_release.stripped.name, "http://127.0.0.1:9/x", "b" * 64)}
    )
    found = obtain(ctx, archive=pbs_release.install_only, pin_file=pin_file, request="3.11")
    assert found.path == pbs_release.install_only
    assert found.sha256 == pbs_release.sha256(pbs_release.install_only)
    assert not (ctx.cache_dir / "downloads").exists()
    with pytest.raises(ConfigError) as err:
        obtain(ctx, archive=pbs_release.install_only, target=Target("aarch64-unknown-linux-gnu"))
    assert str(err.value) == (
        f"{pbs_release.install_only} is built for {GNU}, but the target is "
        "aarch64-unknown-linux-gnu; pass an archive for aarch64-unknown-linux-gnu or change the "
        "target"
    )
    with pytest.raises(ConfigError) as err:
        obtain(ctx, archive=pbs_release.install_only, request="3.13")
    assert str(err.value) == (
        f"{pbs_release.install_only} is CPython {pbs_release.version}, but Python 3.13 was "
        "requested; pass a matching archive or change the request"
    )
    full = tmp_path / f"cpython-{pbs_release.version}+{pbs_release.tag}-{GNU}-pgo+lto-full.tar.zst"
    full.write_bytes(b"not really")
    with pytest.raises(ConfigError) as err:
        obtain(ctx, archive=full)
    assert str(err.value) == (
        f"{full} is a pgo+lto-full archive; pack needs the install_only or install_only_stripped "
        "archive of that release"
    )


def test_explicit_archive_is_verified_against_sums_beside_it(
    ctx: Context, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    mirror = pbs_release.copy_to(tmp_path / "mirror")
    (mirror.dir / "SHA256SUMS").unlink()
    (mirror.dir / "SHA256SUMS").write_text(f"{'0' * 64}  {mirror.install_only.name}\n")
    with pytest.raises(ChecksumError):
        obtain(ctx, archive=mirror.install_only)


# Concurrency and crashes (real processes)

WORKER = """
import sys
from pathlib import Path
from packager.context import Context
from packager.pythons import obtain_interpreter
from packager.targets import Target

cache, mirror, pin = sys.argv[1:]
found = obtain_interpreter(
    Context(cache_dir=Path(cache), environ={}), request=None, variant=None, flavor=None,
    archive=None, target=Target("x86_64-unknown-linux-gnu"), mirror=mirror, pin_file=Path(pin),
)
print(found.path, found.sha256)
"""


def start_worker(cache: Path, mirror: str, pin_file: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACK_", "UV_PYTHON"))}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(cache), mirror, str(pin_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def pinned(release: PbsRelease, tmp_path: Path) -> Path:
    pin_file = tmp_path / PIN_FILE
    sha = release.sha256(release.stripped)
    write_pins(pin_file, {GNU: Pin(GNU, release.stripped.name, "http://127.0.0.1:9/x", sha)})
    return pin_file


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def waiting_on_a_lock(pid: int) -> bool:
    """Whether `pid` is blocked on a file lock (a `->` line of /proc/locks)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return any("->" in line and f" {pid} " in line for line in lines)


def test_two_processes_fetching_at_once_download_once(
    server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    pin_file = pinned(pbs_release, tmp_path)
    path = path_of(pbs_release, pbs_release.stripped)
    server.fail(path, ("hold", 1_000_000))  # the first download stalls half-way
    first = start_worker(cache, server.base, pin_file)
    wait_for(server.held.is_set, "the first download to start")
    second = start_worker(cache, server.base, pin_file)
    wait_for(lambda: waiting_on_a_lock(second.pid), "the second process to wait for the lock")
    server.release.set()
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert out1 == out2
    archive, sha = out1.split()
    assert sha == pbs_release.sha256(pbs_release.stripped)
    assert Path(archive).read_bytes() == pbs_release.stripped.read_bytes()
    assert len(server.requests(path)) == 1


def test_a_killed_download_leaves_nothing_trusted_and_the_next_run_recovers(
    server: FaultServer, pbs_release: PbsRelease, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    pin_file = pinned(pbs_release, tmp_path)
    path = path_of(pbs_release, pbs_release.stripped)
    sha = pbs_release.sha256(pbs_release.stripped)
    server.fail(path, ("hold", 1_000_000))
    worker = start_worker(cache, server.base, pin_file)
    wait_for(server.held.is_set, "the download to start")
    partial = cache / "downloads" / f".{sha}.{worker.pid}.partial"
    wait_for(lambda: any(partial.glob(".*.partial")), "bytes to reach the temp file")
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)
    server.release.set()
    entry = cache / "downloads" / sha
    assert not entry.exists()
    assert partial.is_dir()  # the half download is there, and untrusted: no marker
    assert not (partial / cache_mod.MARKER).exists()

    ctx = Context(cache_dir=cache, environ={})
    found = obtain(ctx, pin_file=pin_file, mirror=server.base)
    assert found.path == entry / pbs_release.stripped.name
    assert hashlib.sha256(found.path.read_bytes()).hexdigest() == sha
    assert (entry / cache_mod.MARKER).is_file()
    assert not partial.exists()
    assert len(server.requests(path)) == 2
