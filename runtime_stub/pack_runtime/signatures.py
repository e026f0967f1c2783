"""Checking an archive's SSH signature (`<archive>.sig`, namespace `pack`) against an
allowed_signers file with `ssh-keygen -Y`, and reading such files. Standard library only: the
bundle stub checks updates with it and `pack verify` uses the same code. Each refusal says
why: no signature, not a signature, other bytes, or a key that is not an allowed signer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, NetworkError, RefusedError, StubError

NAMESPACE = "pack"
SIG_SUFFIX = ".sig"
MAX_SIGNATURE_BYTES = 64 * 1024  # an SSH signature is a few hundred bytes
TIMEOUT = 300.0  # ssh-keygen hashes the whole archive
_GOOD = re.compile(r'^Good "[^"]*" signature (?:for (?P<who>.+) )?with (?P<key>.+)$', re.M)
_INTERNAL = re.compile(r"^[a-z_]+: ")  # e.g. "sshsig_dearmor: decode base64: ..."
_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


class SignatureError(ChecksumError):
    """A signature is missing, malformed, over other bytes or by a key that is not allowed."""


@dataclass(frozen=True)
class Signer:
    principal: str  # as the allowed_signers file names it
    key: str  # e.g. "ED25519 key SHA256:..."

    def __str__(self) -> str:
        return f"{self.principal} ({self.key})"


def signature_path(archive: Path) -> Path:
    return archive.with_name(archive.name + SIG_SUFFIX)


def check_allowed_signers(text: str, where: str) -> int:
    """Raise ValueError naming the line unless `text` is an allowed_signers file with at least
    one key (`principals [options] keytype base64-key [comment]`); return how many keys."""
    count = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        types = [i for i, f in enumerate(fields) if f in _KEY_TYPES]
        if not types or types[0] == 0 or types[0] + 1 >= len(fields):
            raise ValueError(
                f"{where}: line {number} is not `principals [options] keytype key` "
                "(the allowed_signers format of ssh-keygen(1))"
            )
        count += 1
    if count == 0:
        raise ValueError(f"{where} lists no keys; add `<principal> <keytype> <key>` lines")
    return count


def find_ssh_keygen(environ: Mapping[str, str]) -> str:
    found = shutil.which("ssh-keygen", path=environ.get("PATH", os.defpath))
    if found is None:
        raise SignatureError(
            "ssh-keygen was not found on PATH, and signatures are checked with it; install "
            "OpenSSH's client tools (e.g. apt-get install openssh-client) and try again"
        )
    return found


def _run(
    argv: list[str], data: Path | None, environ: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    try:
        if data is None:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=dict(environ),
                check=False,
            )
        with open(data, "rb") as stdin:
            return subprocess.run(
                argv,
                stdin=stdin,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=dict(environ),
                check=False,
            )
    except subprocess.TimeoutExpired as exc:
        raise StubError(f"{argv[0]} did not finish in {TIMEOUT:.0f}s") from exc
    except OSError as exc:
        raise StubError(f"cannot run {argv[0]}: {exc}") from exc


def _first_line(proc: subprocess.CompletedProcess[str]) -> str:
    """ssh-keygen's reason, without the lines that name its internal functions."""
    lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
    plain = [line for line in lines if not _INTERNAL.match(line)]
    return (plain or lines or [f"exit {proc.returncode}"])[0]


def verify_signature(
    data: Path,
    signature: Path,
    allowed_signers: Path,
    environ: Mapping[str, str],
    *,
    what: str = "",
    signers_label: str = "",
) -> Signer:
    """Check that `signature` is a `pack` signature over the bytes of `data` by a key in
    `allowed_signers`; return who signed. `what` names the archive in messages."""
    what = what or str(data)
    label = signers_label or f"the allowed signers in {allowed_signers}"
    if not signature.is_file():
        raise SignatureError(
            f"{what} is not signed: {signature} does not exist; only archives signed by one "
            f"of {label} are accepted"
        )
    if signature.stat().st_size > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{signature} is not an SSH signature (larger than 64 KiB)")
    keygen = find_ssh_keygen(environ)
    # First the signature itself, over these bytes, whoever made it: names the key if it is.
    proc = _run(
        [keygen, "-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(signature)], data, environ
    )
    good = _GOOD.search(proc.stdout)
    if proc.returncode != 0 or good is None:
        reason = _first_line(proc)
        if "incorrect signature" in reason:
            reason = "it was made over other bytes (the archive was altered or is another file)"
        raise SignatureError(f"{what}: the signature {signature} does not verify: {reason}")
    key = good.group("key").strip()
    proc = _run(
        [keygen, "-Y", "find-principals", "-s", str(signature), "-f", str(allowed_signers)],
        None,
        environ,
    )
    # A line may name several principals (`alice,bob`); -I takes one.
    principals = [p for line in proc.stdout.splitlines() for p in line.split(",") if p.strip()]
    if proc.returncode != 0 or not principals:
        raise SignatureError(f"{what} is signed by {key}, which is not one of {label}")
    for principal in principals:
        proc = _run(
            [
                keygen,
                "-Y",
                "verify",
                "-f",
                str(allowed_signers),
                "-I",
                principal,
                "-n",
                NAMESPACE,
                "-s",
                str(signature),
            ],
            data,
            environ,
        )
        good = _GOOD.search(proc.stdout)
        if proc.returncode == 0 and good is not None:
            return Signer(good.group("who") or principal, good.group("key").strip())
    raise SignatureError(
        f"{what} is signed by {key} ({', '.join(principals)}), but {label} do not "
        f"allow that key to sign now (see its valid-before/valid-after/namespaces options): "
        f"{_first_line(proc)}"
    )


def check_update_signature(
    source: str,
    archive: Path,
    signature: str | None,
    signers: list[str] | tuple[str, ...],
    work: Path,
    environ: Mapping[str, str],
) -> Signer:
    """`self update`'s check, before anything is unpacked: the downloaded `archive` (from
    `source`) must carry a signature (`signature`, else `<source>.sig`) by one of `signers`
    (allowed_signers lines embedded in the running bundle). `work` is an empty directory."""
    # Imported here: pack imports this module to sign archives, which never fetches.
    from .fetch import beside, read_small

    where = signature or beside(source, SIG_SUFFIX)
    try:
        data = read_small(where, MAX_SIGNATURE_BYTES, environ.get("SSL_CERT_FILE"))
    except (NetworkError, RefusedError) as exc:
        raise SignatureError(
            f"{source} is not signed ({exc}); this app only accepts updates signed by its "
            "update signers: publish the archive's .sig beside it or pass --signature"
        ) from None
    sig = work / "archive.sig"
    sig.write_bytes(data)
    allowed = work / "allowed_signers"
    allowed.write_text("".join(line.rstrip("\n") + "\n" for line in signers), encoding="utf-8")
    return verify_signature(
        archive,
        sig,
        allowed,
        environ,
        what=source,
        signers_label="this bundle's update signers (`self info` lists them)",
    )
