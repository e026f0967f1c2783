"""The update channel's `latest.json` (each crafted field refused with its reason), the stub's
PEP 440 ordering (the same as packaging's), and `self update` choices that need no archive:
no update-url, plain http without signers, --check or --allow-downgrade with a SOURCE."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from packaging.version import Version

from pack_runtime import pep440
from pack_runtime.channel import (
    Offer,
    archive_location,
    latest_json,
    latest_location,
    parse_offer,
    read_offer,
)
from pack_runtime.errors import RefusedError
from pack_runtime.filelist import write_files_list
from packager.channel import publish
from packager.config import load_config
from packager.errors import ConfigError
from tests.helpers.stub import archive_of, deploy, leftovers, stub
from tests.helpers.synthetic import runnable_bundle

GOOD = Offer(
    name="demo",
    version="2.0",
    target="x86_64-unknown-linux-gnu",
    file="demo-2.0-x86_64-unknown-linux-gnu.tar.zst",
    sha256="ab" * 32,
    size=1234,
    built="2023-11-14T22:13:20Z",
)

VERSIONS = [
    "0.9", "1.0.dev0", "1.0a1.dev1", "1.0a1", "1.0a1.post1", "1.0a2", "1.0b1", "1.0c2",
    "1.0rc1", "1.0rc1.post1.dev2", "1.0", "1.0.0", "v1.0", "1.0+1", "1.0+abc", "1.0+local",
    "1.0+local.2", "1.0+local.10", "1.0.post1.dev3", "1.0.post1", "1.0-1", "1.0.post2",
    "1.0.1", "1.0.0.0.1", "1.1", "1.10", "1.2", "2.0", "1!0.5", "1.0RC1", "1.0-alpha-2",
]  # fmt: skip


def test_pep440_order_is_packaging_s() -> None:
    for a, b in itertools.product(VERSIONS, VERSIONS):
        expected = (Version(a) > Version(b)) - (Version(a) < Version(b))
        assert pep440.compare(a, b) == expected, (a, b)
    with pytest.raises(pep440.InvalidVersion, match=r"'1\.0-final' is not a PEP 440 version"):
        pep440.sort_key("1.0-final")


def test_latest_json_round_trips_and_locations() -> None:
    assert parse_offer(latest_json(GOOD), "x") == GOOD
    assert json.loads(latest_json(GOOD))["schema"] == 1
    url = latest_location("https://updates.example.com/ch/", "my app", "x86_64-unknown-linux-gnu")
    assert url == "https://updates.example.com/ch/my%20app/x86_64-unknown-linux-gnu/latest.json"
    assert archive_location(url, "a+b.tar.zst") == (
        "https://updates.example.com/ch/my%20app/x86_64-unknown-linux-gnu/a%2Bb.tar.zst"
    )
    assert latest_location("/srv/channel", "demo", "t") == "/srv/channel/demo/t/latest.json"
    assert archive_location("/srv/channel/demo/t/latest.json", "a.tar.zst") == (
        "/srv/channel/demo/t/a.tar.zst"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"file": "../../etc/passwd"}, "file '../../etc/passwd' is not a plain archive file name"),
        ({"file": "sub/dir.tar.zst"}, "file 'sub/dir.tar.zst' is not a plain archive file name"),
        ({"file": ".hidden.tar.zst"}, "file '.hidden.tar.zst' is not a plain archive file name"),
        ({"file": "a..b.tar.zst"}, "file 'a..b.tar.zst' is not a plain archive file name"),
        ({"sha256": "AB" * 32}, "sha256 is not 64 lowercase hex digits"),
        ({"sha256": "ab"}, "sha256 is not 64 lowercase hex digits"),
        ({"version": "next"}, "version 'next' is not a PEP 440 version"),
        ({"size": -1}, "size is not a positive integer"),
        ({"size": True}, "size is not a positive integer"),
        ({"name": 3}, "name is missing or not a string"),
        ({"schema": 2}, "schema 2 is not 1"),
    ],
)
def test_crafted_latest_json_is_refused(change: dict[str, object], reason: str) -> None:
    obj = json.loads(latest_json(GOOD))
    obj.update(change)
    with pytest.raises(RefusedError) as err:
        parse_offer(json.dumps(obj).encode(), "https://x/latest.json")
    assert str(err.value) == (
        f"https://x/latest.json: {reason}; the channel is damaged or not a pack channel"
    )


def test_not_json_and_too_big_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RefusedError, match=r"^x: not valid JSON \("):
        parse_offer(b"\xff{", "x")
    big = tmp_path / "latest.json"
    big.write_bytes(b" " * (64 * 1024 + 1))
    with pytest.raises(RefusedError) as err:
        read_offer(str(big))
    assert str(err.value) == (f"{big} is larger than 65536 bytes; it is not what pack publishes")


def test_publish_writes_the_files_then_latest(tmp_path: Path) -> None:
    archive = tmp_path / "dist" / GOOD.file
    archive.parent.mkdir()
    archive.write_bytes(b"x" * 1234)
    sums = archive.with_name(archive.name + ".sha256")
    sums.write_text(f"{'ab' * 32}  {archive.name}\n")
    published = publish(
        tmp_path / "channel",
        name="demo",
        version="2.0",
        target=GOOD.target,
        archive=archive,
        sha256=GOOD.sha256,
        size=1234,
        built=GOOD.built,
        beside=(sums,),
    )
    folder = tmp_path / "channel" / "demo" / GOOD.target
    assert published.latest == folder / "latest.json"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [archive.name, sums.name, "latest.json"]
    )
    assert read_offer(str(published.latest)) == GOOD


def _with_channel(root: Path, url: str | None, signers: list[str] | None = None) -> None:
    meta = root / ".pack/bundle.json"
    info = json.loads(meta.read_text())
    info["update_url"] = url
    if signers is not None:
        info["update_signers"] = signers
    meta.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_files_list(root)


def test_without_update_url_a_source_is_needed(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    r = stub(d.root, "update", "--check")
    assert (r.code, r.err) == (
        2,
        "error: no SOURCE given and this bundle has no update-url; pass SOURCE (a path or URL "
        "of an archive), or build with update-url in [tool.pack]\n",
    )


def test_plain_http_channel_needs_signers(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    _with_channel(d.root, "http://127.0.0.1:9/channel")
    r = stub(d.root, "update", "--yes")
    assert (r.code, r.err) == (
        2,
        "error: http://127.0.0.1:9/channel/demo/x86_64-unknown-linux-gnu/latest.json: plain "
        "http can be altered on the way, and this bundle has no update signers to check what "
        "it offers; serve the channel over https or build with update-signers\n",
    )
    assert leftovers(d.app_dir) == []


def test_a_directory_channel_for_air_gaps(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    channel = tmp_path / "media" / "channel"
    _with_channel(d.root, str(channel))
    folder = channel / "demo" / GOOD.target
    folder.mkdir(parents=True)
    (folder / "latest.json").write_bytes(latest_json(GOOD))
    r = stub(d.root, "update", "--check")
    assert (r.code, r.out) == (
        10,
        f"demo: running 1.0; {folder / 'latest.json'} offers 2.0 (2023-11-14T22:13:20Z)\n"
        "update available: 1.0 -> 2.0\n",
    )
    other = Offer(**{**GOOD.__dict__, "target": "aarch64-unknown-linux-gnu"})
    (folder / "latest.json").write_bytes(latest_json(other))
    r = stub(d.root, "update", "--check")
    assert (r.code, r.err) == (
        2,
        f"error: {folder / 'latest.json'} offers an archive for aarch64-unknown-linux-gnu, but "
        "this bundle runs on x86_64-unknown-linux-gnu\n",
    )


@pytest.mark.parametrize("flag", ["--check", "--allow-downgrade"])
def test_channel_flags_with_a_source_are_refused(tmp_path: Path, flag: str) -> None:
    d = deploy(tmp_path)
    r = stub(d.root, "update", "/tmp/x.tar.zst", flag)
    assert (r.code, r.err) == (
        2,
        f"error: {flag} compares with the update channel; drop SOURCE, or drop {flag} (an "
        "explicit SOURCE is installed whatever its version)\n",
    )


def test_signature_without_signers_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--signature", str(new) + ".sig", "--yes")
    assert (r.code, r.err.splitlines()[-1]) == (
        2,
        "error: --signature was given, but this bundle has no update signers to check it "
        "against; build it with update-signers in [tool.pack]",
    )
    assert str(d.current.readlink()) == "1.0"
    assert leftovers(d.app_dir) == []


def test_config_checks_update_url(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1"\n[tool.pack]\nupdate-url = "ftp://x/y"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.pack] update-url: 'ftp://x/y' is neither an "
        "http(s) URL nor an absolute directory; give where the channel directory (pack build "
        "--channel) is served"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1"\n[tool.pack]\nupdate-url = "https://u.example/c/"\n'
        'update-signers = "keys/allowed"\nsign-key = "~/.ssh/id_ed25519"\n'
    )
    cfg = load_config(tmp_path)
    assert cfg.update_url == "https://u.example/c"
    assert cfg.update_signers == tmp_path / "keys/allowed"
    assert cfg.sign_key == Path("~/.ssh/id_ed25519").expanduser()
