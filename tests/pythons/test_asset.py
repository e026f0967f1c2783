"""Interpreter archives given by path (packager/pythons/asset.py): an explicit archive wins
and is checked, against the sums file beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.context import Context
from packager.errors import ChecksumError, ConfigError
from packager.pythons import (
    PIN_FILE,
    Pin,
    write_pins,
)
from packager.targets import Target
from tests.conftest import PbsRelease
from tests.helpers.interpreters import GNU, obtain


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
