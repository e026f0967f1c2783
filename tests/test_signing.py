"""SSH signatures on archives, with real keys made by ssh-keygen: pack's signatures verify with
plain `ssh-keygen -Y verify`, plain `ssh-keygen -Y sign` signatures verify with pack; encrypted
keys sign through a passphrase prompt (askpass) or ssh-agent; every refusal says why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pack_runtime.signatures import SignatureError, check_allowed_signers, verify_signature
from packager.errors import BuildError, ConfigError
from packager.signing import check_sign_key, read_update_signers, sign_archive
from tests.helpers.bundles import APPS, PACK, Built, pack_env, run_pack
from tests.helpers.sshkeys import Keys, ssh_agent, ssh_sign

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture
def archive(built_bundle: Built, tmp_path: Path) -> Path:
    """A real pack archive (the session build), hard-linked into this test's directory."""
    copy = tmp_path / built_bundle.archive.name
    copy.hardlink_to(built_bundle.archive)
    for suffix in (".sha256", ".cdx.json"):
        shutil.copy(built_bundle.archive.with_name(copy.name + suffix), tmp_path)
    return copy


def _sig(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sig")


def _fingerprint(keys: Keys, who: str) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", keys.pub(who)], capture_output=True, text=True, check=True
    ).stdout.split()
    return f"ED25519 key {out[1]}"


def test_pack_signatures_verify_with_plain_ssh_keygen(archive: Path, ssh_keys: Keys) -> None:
    sig = sign_archive(archive, ssh_keys.key("alice"))
    assert sig == _sig(archive)
    assert sig.read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    assert sorted(p.name for p in archive.parent.iterdir() if p.name.startswith(".")) == []
    with open(archive, "rb") as stdin:
        proc = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                ssh_keys.allowed("alice"),
                "-I",
                "alice@example.com",
                "-n",
                "pack",
                "-s",
                sig,
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('Good "pack" signature for alice@example.com with ED25519 key')


def test_plain_ssh_keygen_signatures_verify_with_pack(archive: Path, ssh_keys: Keys) -> None:
    _sig(archive).write_bytes(ssh_sign(ssh_keys.key("bob"), archive))
    proc = run_pack(
        ["verify", str(archive), "--allowed-signers", str(ssh_keys.allowed("alice", "bob"))],
        Path("/nonexistent-cache"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        f"signature   {archive.name}.sig: good, signed by bob@example.com "
        f"({_fingerprint(ssh_keys, 'bob')})\n"
    ) in proc.stdout


def test_unchecked_signature_is_mentioned_and_a_bad_one_fails_verify(
    archive: Path, ssh_keys: Keys
) -> None:
    _sig(archive).write_bytes(ssh_sign(ssh_keys.key("bob"), archive))
    proc = run_pack(["verify", str(archive)], Path("/nonexistent-cache"))
    assert proc.returncode == 0
    assert (
        f"signature   {archive.name}.sig not checked; pass --allowed-signers FILE to check it"
        in proc.stdout
    )
    allowed = ssh_keys.allowed("alice")
    proc = run_pack(
        ["verify", str(archive), "--allowed-signers", str(allowed)], Path("/nonexistent-cache")
    )
    assert proc.returncode == 4
    assert (
        f"signature   {archive} is signed by {_fingerprint(ssh_keys, 'bob')}, which is not one "
        f"of the allowed signers in {allowed}\n"
    ) in proc.stdout
    assert proc.stderr.strip() == (
        f"error: {archive}: every file matches what pack built, but its signature was refused; "
        f"get a copy signed by a key in {allowed}, or check that this file lists the "
        "publisher's key"
    )


@pytest.mark.parametrize("case", ["unsigned", "other-key", "other-bytes", "namespace", "garbage"])
def test_each_bad_signature_is_refused_with_its_reason(
    archive: Path, ssh_keys: Keys, tmp_path: Path, case: str
) -> None:
    sig = _sig(archive)
    allowed = ssh_keys.allowed("alice")
    if case == "other-key":
        sig.write_bytes(ssh_sign(ssh_keys.key("bob"), archive))
    elif case == "other-bytes":
        other = tmp_path / "other.tar.zst"
        other.write_bytes(b"another file\n")
        sig.write_bytes(ssh_sign(ssh_keys.key("alice"), other))
    elif case == "namespace":
        sig.write_bytes(ssh_sign(ssh_keys.key("alice"), archive, namespace="file"))
    elif case == "garbage":
        sig.write_text("-----BEGIN SSH SIGNATURE-----\nnot base64\n-----END SSH SIGNATURE-----\n")
    with pytest.raises(SignatureError) as err:
        verify_signature(archive, sig, allowed, ENV)
    expected = {
        "unsigned": f"{archive} is not signed: {sig} does not exist; only archives signed by "
        f"one of the allowed signers in {allowed} are accepted",
        "other-key": f"{archive} is signed by {_fingerprint(ssh_keys, 'bob')}, which is not "
        f"one of the allowed signers in {allowed}",
        "other-bytes": f"{archive}: the signature {sig} does not verify: it was made over other "
        "bytes (the archive was altered or is another file)",
        "namespace": f"{archive}: the signature {sig} does not verify: Couldn't verify "
        "signature: namespace does not match",
        "garbage": f"{archive}: the signature {sig} does not verify: sshsig_dearmor: decode "
        "base64: invalid format",
    }[case]
    assert str(err.value) == expected
    assert err.value.exit_code == 4


def test_without_ssh_keygen_checking_is_an_error_not_a_skip(archive: Path, ssh_keys: Keys) -> None:
    _sig(archive).write_bytes(ssh_sign(ssh_keys.key("alice"), archive))
    with pytest.raises(SignatureError) as err:
        verify_signature(archive, _sig(archive), ssh_keys.allowed("alice"), {"PATH": "/nowhere"})
    assert str(err.value) == (
        "ssh-keygen was not found on PATH, and signatures are checked with it; install "
        "OpenSSH's client tools (e.g. apt-get install openssh-client) and try again"
    )


def _verifies(archive: Path, keys: Keys, who: str) -> str:
    return str(verify_signature(archive, _sig(archive), keys.allowed(who), ENV))


def test_an_encrypted_key_signs_through_the_passphrase_prompt(
    archive: Path, ssh_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in ssh_keys.askpass_env().items():
        monkeypatch.setenv(k, v)
    sign_archive(archive, ssh_keys.key("carol"))
    assert _verifies(archive, ssh_keys, "carol").startswith("carol@example.com (ED25519 key ")


def test_an_encrypted_key_without_its_passphrase_fails_and_leaves_nothing(
    archive: Path, ssh_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    before = sorted(p.name for p in archive.parent.iterdir())
    with pytest.raises(BuildError) as err:
        sign_archive(archive, ssh_keys.key("carol"))
    assert str(err.value) == (
        f"signing {archive.name} with {ssh_keys.key('carol')} failed (exit 255): "
        "Enter passphrase: Load key "
        f'"{ssh_keys.key("carol")}": incorrect passphrase supplied to decrypt private key; '
        "check the key, its passphrase, or that ssh-agent holds it (SSH_AUTH_SOCK)"
    )
    assert sorted(p.name for p in archive.parent.iterdir()) == before


def test_a_key_held_by_ssh_agent_signs_from_its_public_half(
    archive: Path, ssh_keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ssh_agent(tmp_path) as agent:
        subprocess.run(
            ["ssh-add", "-q", ssh_keys.key("carol")],
            env={**os.environ, **agent, **ssh_keys.askpass_env()},
            stdin=subprocess.DEVNULL,
            check=True,
        )
        monkeypatch.setenv("SSH_AUTH_SOCK", agent["SSH_AUTH_SOCK"])
        monkeypatch.delenv("SSH_ASKPASS", raising=False)
        sign_archive(archive, ssh_keys.pub("carol"))
    assert _verifies(archive, ssh_keys, "carol").startswith("carol@example.com (ED25519 key ")


def test_key_and_signers_files_are_checked_before_building(ssh_keys: Keys, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        check_sign_key(tmp_path / "missing", "--sign")
    assert str(err.value) == (
        f"--sign: signing key {tmp_path / 'missing'} does not exist; give a private key file, "
        "or the .pub of a key held by ssh-agent"
    )
    bad = tmp_path / "allowed"
    bad.write_text("# ops keys\nalice@example.com ssh-ed25519\n")
    with pytest.raises(ConfigError) as err:
        read_update_signers(bad, "pyproject.toml: [tool.pack] update-signers")
    assert str(err.value) == (
        f"pyproject.toml: [tool.pack] update-signers: {bad}: line 2 is not `principals "
        "[options] keytype key` (the allowed_signers format of ssh-keygen(1))"
    )
    bad.write_text("# nobody\n\n")
    with pytest.raises(ValueError, match="lists no keys"):
        check_allowed_signers(bad.read_text(), str(bad))
    assert read_update_signers(ssh_keys.allowed("alice", "bob"), "x") == tuple(
        ssh_keys.lines("alice", "bob").splitlines()
    )


def _project(tmp_path: Path, extra: str = "") -> Path:
    project = tmp_path / "thirdparty"
    shutil.copytree(APPS / "thirdparty", project)
    if extra:
        with open(project / "pyproject.toml", "a") as f:
            f.write(extra)
    return project


def test_build_refuses_unusable_signing_setups_before_building(
    python_archive: Path, session_cache: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path, 'format = "dir"\n')
    proc = run_pack(
        ["build", str(project), "--python-archive", str(python_archive)],
        session_cache,
        PACK_SIGN_KEY=str(tmp_path / "nokey"),
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        f"error: {project / 'pyproject.toml'}: format 'dir' cannot be signed; choose an "
        "archive format (tar.zst, tar.gz, tar.xz) or drop --sign / sign-key / PACK_SIGN_KEY",
    )
    project = _project(tmp_path / "2")
    proc = run_pack(
        ["build", str(project), "--python-archive", str(python_archive), "--sign", "nokey"],
        session_cache,
        cwd=tmp_path,
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        f"error: --sign / sign-key / PACK_SIGN_KEY: signing key {tmp_path / 'nokey'} does not "
        "exist; give a private key file, or the .pub of a key held by ssh-agent",
    )
    assert not (project / "dist").exists()


def test_a_failed_signature_leaves_no_archive_behind(
    python_archive: Path, session_cache: Path, ssh_keys: Keys, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    proc = subprocess.run(
        [*PACK, "build", str(project), "--python-archive", str(python_archive)],
        env={
            **{k: v for k, v in pack_env(session_cache).items() if not k.startswith("SSH_")},
            "PACK_SIGN_KEY": str(ssh_keys.key("carol")),  # encrypted; no passphrase to give
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.strip().endswith(
        "incorrect passphrase supplied to decrypt private key; check the key, its passphrase, "
        "or that ssh-agent holds it (SSH_AUTH_SOCK) (-v shows the full output)"
    )
    assert list((project / "dist").iterdir()) == []


def test_verify_allowed_signers_needs_a_file_and_an_archive(
    archive: Path, ssh_keys: Keys, tmp_path: Path
) -> None:
    missing = tmp_path / "nobody"
    proc = run_pack(
        ["verify", str(archive), "--allowed-signers", str(missing)], Path("/nonexistent-cache")
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        f"error: --allowed-signers {missing} does not exist; give an allowed_signers file "
        "(`<principal> <keytype> <key>` per line, see ssh-keygen(1))",
    )
    proc = run_pack(
        ["verify", str(tmp_path), "--allowed-signers", str(ssh_keys.allowed("alice"))],
        Path("/nonexistent-cache"),
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        f"error: {tmp_path} is not an archive; signatures are made over archives, so check the "
        "archive with --allowed-signers",
    )
