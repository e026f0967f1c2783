"""Trusted updates end to end: a real build signed with `--sign` (PACK_SIGN_KEY), embedding
update signers and an update-url, published with `--channel` into a directory served over
127.0.0.1; the deployed bundle polls it (`self update --check`), updates from it, refuses
unsigned archives, other keys, other bytes, downgrades and other apps (leaving the running
version in place and nothing in the work directory), and follows a key rotation."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from packager.bundlearchive import ArchiveOptions, write_archive
from packager.channel import publish
from tests.helpers.bundles import APPS, Built, run_pack, unpack
from tests.helpers.http_server import Server, serve
from tests.helpers.sshkeys import Keys, ssh_sign

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Signed:
    build: Built
    server: Server
    channel: Path  # the directory the server publishes as <base>/channel
    tree: Path  # the build unpacked once, to derive other versions from
    keys: Keys
    made: Path  # unsigned releases derived from the build, made once per module

    @property
    def folder(self) -> Path:
        return self.channel / self.build.name / self.build.target


@pytest.fixture(scope="module")
def www(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("www")
    with serve(root) as server:
        yield server


@pytest.fixture(scope="module")
def signed(
    www: Server,
    ssh_keys: Keys,
    python_archive: Path,
    session_cache: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Signed:
    """The compiled app built once with update signers (alice), an update-url (the channel
    on 127.0.0.1), signed by alice through PACK_SIGN_KEY and published with --channel."""
    tmp = tmp_path_factory.mktemp("signed-build")
    project = tmp / "compiled"
    shutil.copytree(APPS / "compiled", project, ignore=shutil.ignore_patterns("dist", "build"))
    allowed = ssh_keys.allowed("alice")
    with open(project / "pyproject.toml", "a") as f:  # [tool.pack] is the file's last table
        f.write(f'update-signers = "{allowed}"\nupdate-url = "{www.base}/channel"\n')
    channel = www.root / "channel"
    proc = run_pack(
        [
            "build",
            str(project),
            "--python-archive",
            str(python_archive),
            "--channel",
            str(channel),
            "--json",
        ],
        session_cache,
        PACK_SIGN_KEY=str(ssh_keys.key("alice")),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    artifact = result["artifacts"][0]
    built = Built(
        archive=Path(artifact["path"]),
        name=result["name"],
        version=result["version"],
        target=artifact["target"],
        result=result,
        project=project,
        cache_dir=session_cache,
    )
    tree = unpack(built.archive, tmp / "tree")
    return Signed(built, www, channel, tree, ssh_keys, tmp / "made")


def release(
    s: Signed,
    out: Path,
    version: str,
    *,
    signer: str | None = "alice",
    signers: tuple[str, ...] | None = None,
    name: str | None = None,
) -> Path:
    """Another release derived from the signed build: its bundle.json given `version` (and
    `name`, and `signers` as update signers), .pack/files rewritten, archived by pack and
    signed with plain `ssh-keygen -Y sign` by `signer` (None: unsigned)."""
    made = _unsigned(s, version, signers, name)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / made.name
    archive.hardlink_to(made)
    shutil.copy(made.with_name(made.name + ".sha256"), out)
    if signer is not None:
        archive.with_name(archive.name + ".sig").write_bytes(ssh_sign(s.keys.key(signer), archive))
    return archive


def _unsigned(s: Signed, version: str, signers: tuple[str, ...] | None, name: str | None) -> Path:
    out = s.made / f"{version}-{name}-{'-'.join(signers or ())}"
    if out.is_dir():
        return next(out.glob("*.tar.zst"))
    work = s.made / "tree"
    shutil.copytree(s.tree, work, symlinks=True)
    meta = work / ".pack/bundle.json"
    info = json.loads(meta.read_text())
    info["version"] = version
    if name is not None:
        info["name"] = name
    if signers is not None:
        info["update_signers"] = s.keys.lines(*signers).splitlines()
    meta.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_files_list(work)
    top = f"{info['name']}-{version}"
    archive = out / f"{top}-{s.build.target}.tar.zst"
    write_archive(work, archive, top=top, options=ArchiveOptions(format="tar.zst", level=1))
    shutil.rmtree(work)
    return archive


def offer(s: Signed, archive: Path) -> None:
    """Publish `archive` (and whatever is beside it) to the channel as its latest."""
    beside = tuple(
        p for p in (archive.with_name(archive.name + x) for x in (".sha256", ".sig")) if p.exists()
    )
    version = archive.name.split("-x86_64")[0].rsplit("-", 1)[1]
    name = archive.name.split(f"-{version}-")[0]
    for stale in s.folder.glob("*.sig"):
        stale.unlink()  # a signature left from another release must not vouch for this one
    publish(
        s.channel,
        name=name,
        version=version,
        target=s.build.target,
        archive=archive,
        sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
        size=archive.stat().st_size,
        built="2023-11-14T22:13:20Z",
        beside=beside,
    )
    # The channel serves this app's folder whatever `name` the archive holds.
    if name != s.build.name:
        for f in (s.channel / name / s.build.target).iterdir():
            shutil.copy(f, s.folder / f.name)


@dataclass(frozen=True)
class Deployed:
    app_dir: Path
    root: Path

    @property
    def current(self) -> Path:
        return self.app_dir / "current"

    @property
    def app(self) -> Path:
        return self.current / "bin/compiled-app"


def deploy(s: Signed, base: Path) -> Deployed:
    """`<base>/opt/compiled-app/1.2.0/` and `current` pointing at it, from the signed archive."""
    app_dir = base / "opt" / "compiled-app"
    root = unpack(s.build.archive, app_dir)
    root = root.rename(app_dir / s.build.version)
    (app_dir / "current").symlink_to(s.build.version)
    return Deployed(app_dir, root)


def self_(d: Deployed, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(d.app), "self", *args], capture_output=True, text=True, env=ENV, check=False
    )


def state(d: Deployed) -> tuple[str, list[str]]:
    """Where `current` points, and everything in the app directory."""
    return str(d.current.readlink()), sorted(p.name for p in d.app_dir.iterdir())


def test_signed_build_is_published_with_its_signers_and_channel(signed: Signed) -> None:
    b = signed.build
    allowed = signed.keys.allowed("alice")
    proc = run_pack(["verify", str(b.archive), "--allowed-signers", str(allowed)], b.cache_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"signature   {b.archive.name}.sig: good, signed by alice@example.com (" in proc.stdout
    with open(b.archive, "rb") as stdin:
        plain = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                allowed,
                "-I",
                "alice@example.com",
                "-n",
                "pack",
                "-s",
                f"{b.archive}.sig",
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    assert plain.returncode == 0, plain.stderr

    proc = run_pack(["inspect", str(b.archive)], b.cache_dir)
    assert "  updates    only when signed by alice@example.com\n" in proc.stdout
    assert f"  channel    {signed.server.base}/channel\n" in proc.stdout
    info = json.loads((signed.tree / ".pack/bundle.json").read_text())
    assert info["update_signers"] == signed.keys.lines("alice").splitlines()
    assert info["update_url"] == f"{signed.server.base}/channel"

    artifact = b.result["artifacts"][0]  # type: ignore[index]
    assert artifact["signature"] == f"{b.archive}.sig"
    assert artifact["channel"] == str(signed.folder / "latest.json")
    assert sorted(p.name for p in signed.folder.iterdir()) == sorted(
        [
            b.archive.name,
            *(b.archive.name + x for x in (".sha256", ".sig", ".cdx.json")),
            "latest.json",
        ]
    )
    latest = json.loads((signed.folder / "latest.json").read_text())
    assert latest == {
        "built": json.loads((signed.tree / ".pack/bundle.json").read_text())["build"]["time"],
        "file": b.archive.name,
        "name": b.name,
        "schema": 1,
        "sha256": artifact["sha256"],
        "size": b.archive.stat().st_size,
        "target": b.target,
        "version": b.version,
    }


def test_check_then_update_from_the_channel(signed: Signed, tmp_path: Path) -> None:
    d = deploy(signed, tmp_path)
    offer(signed, signed.build.archive)
    latest = f"{signed.server.base}/channel/compiled-app/{signed.build.target}/latest.json"
    rows = dict(line.split("  ", 1) for line in self_(d, "info").stdout.splitlines())
    assert rows["update url"].strip() == f"{signed.server.base}/channel"
    assert rows["update signers"].strip() == "alice@example.com"
    proc = self_(d, "update", "--check")
    assert (proc.returncode, proc.stdout) == (
        0,
        f"compiled-app: running 1.2.0; {latest} offers 1.2.0 (2023-11-14T22:13:20Z)\nup to date\n",
    )
    proc = self_(d, "update", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "compiled-app 1.2.0 is up to date; nothing to do" in proc.stdout

    offer(signed, release(signed, tmp_path / "rel", "1.3.0"))
    proc = self_(d, "update", "--check")
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (
        10,
        "update available: 1.2.0 -> 1.3.0",
    )
    proc = self_(d, "update", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "signed by alice@example.com (ED25519 key SHA256:" in proc.stderr
    assert state(d) == ("1.3.0", ["1.2.0", "1.3.0", "current"])
    assert json.loads(self_(d, "info", "--json").stdout)["version"] == "1.3.0"
    assert self_(d, "update", "--check").returncode == 0


def _refused(d: Deployed, proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert state(d) == ("1.2.0", ["1.2.0", "current"])  # nothing new, no work directory left
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("case", ["unsigned", "other-key", "other-bytes", "other-file"])
def test_updates_not_signed_by_an_update_signer_are_refused(
    signed: Signed, tmp_path: Path, case: str
) -> None:
    d = deploy(signed, tmp_path)
    signer = {"unsigned": None, "other-key": "bob"}.get(case, "alice")
    new = release(signed, tmp_path / "rel", "1.3.0", signer=signer)
    sig = new.with_name(new.name + ".sig")
    if case == "other-bytes":  # altered after signing; its .sha256 redone to match
        data = bytearray(new.read_bytes())
        data[-1] ^= 0xFF
        new.unlink()  # a hard link to the shared release: write a copy instead
        new.write_bytes(bytes(data))
        digest = hashlib.sha256(data).hexdigest()
        new.with_name(new.name + ".sha256").write_text(f"{digest}  {new.name}\n")
    elif case == "other-file":  # a genuine signature, of the running release's archive
        sig.write_bytes(
            signed.build.archive.with_name(signed.build.archive.name + ".sig").read_bytes()
        )
    offer(signed, new)
    url = f"{signed.server.base}/channel/compiled-app/{signed.build.target}/{new.name}"
    fingerprint = {
        "bob": subprocess.run(
            ["ssh-keygen", "-l", "-f", signed.keys.pub("bob")], capture_output=True, text=True
        ).stdout.split()[1]
    }
    expected = {
        "unsigned": f"error: {url} is not signed (GET {url}.sig: HTTP 404 Not Found); this app "
        "only accepts updates signed by its update signers: publish the archive's .sig beside "
        "it or pass --signature",
        "other-key": f"error: {url} is signed by ED25519 key {fingerprint['bob']}, which is not "
        "one of this bundle's update signers (`self info` lists them)",
        "other-bytes": f"error: {url}: the signature ",
        "other-file": f"error: {url}: the signature ",
    }[case]
    last = _refused(d, self_(d, "update", "--yes"), 4)
    assert last.startswith(expected), last
    if case in ("other-bytes", "other-file"):
        assert last.endswith(
            "does not verify: it was made over other bytes (the archive was altered or is "
            "another file)"
        )


def test_sha256_alone_no_longer_suffices(signed: Signed, tmp_path: Path) -> None:
    d = deploy(signed, tmp_path)
    new = release(signed, tmp_path / "rel", "1.3.0", signer=None)
    digest = hashlib.sha256(new.read_bytes()).hexdigest()
    last = _refused(d, self_(d, "update", str(new), "--sha256", digest, "--yes"), 4)
    assert last == (
        f"error: {new} is not signed ({new}.sig: no such file); this app only accepts updates "
        "signed by its update signers: publish the archive's .sig beside it or pass --signature"
    )
    # A signature kept elsewhere is given with --signature.
    elsewhere = tmp_path / "signatures" / "release.sig"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(ssh_sign(signed.keys.key("alice"), new))
    proc = self_(d, "update", str(new), "--signature", str(elsewhere), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert state(d) == ("1.3.0", ["1.2.0", "1.3.0", "current"])


def test_downgrades_need_allow_downgrade(signed: Signed, tmp_path: Path) -> None:
    d = deploy(signed, tmp_path)
    offer(signed, release(signed, tmp_path / "rel", "1.2.0rc1"))
    latest = f"{signed.server.base}/channel/compiled-app/{signed.build.target}/latest.json"
    assert self_(d, "update", "--check").stdout.splitlines()[-1] == "up to date"
    last = _refused(d, self_(d, "update", "--yes"), 2)
    assert last == (
        f"error: {latest} offers 1.2.0rc1, older than the running 1.2.0; not downgrading "
        "(pass --allow-downgrade to roll back to it)"
    )
    proc = self_(d, "update", "--allow-downgrade", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert state(d) == ("1.2.0rc1", ["1.2.0", "1.2.0rc1", "current"])


def test_a_channel_serving_another_app_is_refused(signed: Signed, tmp_path: Path) -> None:
    d = deploy(signed, tmp_path)
    offer(signed, release(signed, tmp_path / "rel", "2.0", name="other-app"))
    latest = f"{signed.server.base}/channel/compiled-app/{signed.build.target}/latest.json"
    last = _refused(d, self_(d, "update", "--yes"), 2)
    assert last == (
        f"error: {latest} offers other-app 2.0, not compiled-app; refusing to replace one app "
        "with another (check update-url)"
    )


def test_a_channel_offer_must_match_the_archive(signed: Signed, tmp_path: Path) -> None:
    """A channel that names 1.3.0 but serves an older signed archive (a replay) is refused."""
    d = deploy(signed, tmp_path)
    old = release(signed, tmp_path / "old", "1.1.0")
    renamed = tmp_path / "rel" / old.name.replace("1.1.0", "1.3.0")
    renamed.parent.mkdir()
    for suffix in ("", ".sig"):
        shutil.copy(old.with_name(old.name + suffix), renamed.with_name(renamed.name + suffix))
    digest = hashlib.sha256(renamed.read_bytes()).hexdigest()
    renamed.with_name(renamed.name + ".sha256").write_text(f"{digest}  {renamed.name}\n")
    offer(signed, renamed)
    url = f"{signed.server.base}/channel/compiled-app/{signed.build.target}/{renamed.name}"
    last = _refused(d, self_(d, "update", "--yes"), 2)
    assert last == (
        f"error: {url} holds compiled-app 1.1.0, but the channel offered 1.3.0; the channel "
        "is inconsistent or replays an old archive"
    )


def test_signers_rotate_only_through_a_release_signed_by_an_old_signer(
    signed: Signed, tmp_path: Path
) -> None:
    d = deploy(signed, tmp_path)
    # 1.3.0, signed by alice, hands the update key over to bob.
    offer(signed, release(signed, tmp_path / "r13", "1.3.0", signers=("bob",)))
    assert self_(d, "update", "--yes").returncode == 0
    assert state(d)[0] == "1.3.0"
    # From now on alice's signature is not enough...
    offer(signed, release(signed, tmp_path / "r14a", "1.4.0", signer="alice"))
    proc = self_(d, "update", "--yes")
    assert proc.returncode == 4
    assert proc.stderr.strip().endswith(
        "which is not one of this bundle's update signers (`self info` lists them)"
    )
    assert state(d) == ("1.3.0", ["1.2.0", "1.3.0", "current"])
    # ...and bob's is.
    offer(signed, release(signed, tmp_path / "r14b", "1.4.0", signer="bob", signers=("bob",)))
    proc = self_(d, "update", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "signed by bob@example.com" in proc.stderr
    assert state(d)[0] == "1.4.0"
    # Dropping the signers is possible (signed by a current signer) and said out loud.
    offer(signed, release(signed, tmp_path / "r15", "1.5.0", signer="bob", signers=()))
    proc = self_(d, "update", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "warning: 1.5.0 has no update signers: its own updates need no signature" in (
        proc.stderr
    )
