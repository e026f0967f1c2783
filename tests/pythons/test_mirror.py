"""Mirrors (packager/pythons/mirror.py): which one wins, their forms, and obtaining an
interpreter through an http, a file:// and uv's mirror variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.context import Context
from packager.errors import ConfigError
from packager.pythons import (
    cached_archives,
    mirror_base,
)
from tests.conftest import FaultServer, PbsRelease
from tests.helpers.interpreters import GNU, obtain, path_of


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
