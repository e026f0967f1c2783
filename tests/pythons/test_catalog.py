"""The catalog (packager/pythons/catalog.py): the data bundled from pbs-installer, resolution
of a request for every target to one asset, releases newer than the catalog, and the nearest
versions named when nothing matches."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from packager.errors import ConfigError
from packager.pythons import (
    FLAVORS,
    Asset,
    Catalog,
    parse_request,
)
from packager.pythons.catalog import ReleaseLookup, plan
from packager.targets import KNOWN_TRIPLES, Target
from tests.helpers.interpreters import GNU, TARGET


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
