"""pack.lock pins (packager/pythons/pin.py): a pin wins over resolution, its URL over none,
the file round-trips keeping other tables, and bad files name the key."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from packager.context import Context
from packager.errors import ConfigError, NetworkError
from packager.pythons import (
    PIN_FILE,
    Pin,
    read_pins,
    write_pins,
)
from packager.pythons.mirror import UPSTREAM
from packager.targets import Target
from tests.conftest import FaultServer, PbsRelease
from tests.helpers.interpreters import GNU, obtain, path_of


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
