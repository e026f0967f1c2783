"""Signing archives with an SSH key: `<archive>.sig` in the SSH signature format, namespace
`pack`, made by `ssh-keygen -Y sign` so that plain OpenSSH verifies it offline. Checking
signatures is pack_runtime.signatures' job (the bundle stub checks updates with it too)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from pack_runtime.signatures import NAMESPACE, check_allowed_signers, signature_path

from ._fs import remove_tree
from ._proc import run
from .errors import BuildError, ConfigError


def ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise ConfigError(
            "ssh-keygen was not found on PATH; it is needed to sign the archive "
            "(install OpenSSH's client tools, e.g. apt-get install openssh-client)"
        )
    return found


def check_sign_key(key: Path, where: str) -> None:
    """Fail before the build, not after it, when the key cannot be used at all."""
    if not key.is_file():
        raise ConfigError(
            f"{where}: signing key {key} does not exist; give a private key file, or the "
            ".pub of a key held by ssh-agent"
        )
    ssh_keygen()


def sign_archive(archive: Path, key: Path) -> Path:
    """Write `<archive>.sig`, made with `key` (a private key file; or a public key whose
    private half ssh-agent holds). An encrypted key asks for its passphrase on the terminal
    (or through SSH_ASKPASS). The signature appears complete or not at all."""
    dest = signature_path(archive)
    work = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".sign", dir=archive.parent))
    try:
        # Signed under its own name in a private directory: ssh-keygen writes `<file>.sig`
        # beside the file it signs and would ask before overwriting one. Standard input stays
        # the caller's, where ssh-keygen may read a passphrase.
        linked = work / archive.name
        try:
            os.link(archive, linked)
        except OSError:
            shutil.copyfile(archive, linked)
        run(
            [ssh_keygen(), "-Y", "sign", "-f", key, "-n", NAMESPACE, linked],
            what=f"signing {archive.name} with {key}",
            error=BuildError,
            hint="check the key, its passphrase, or that ssh-agent holds it (SSH_AUTH_SOCK)",
        )
        signature_path(linked).replace(dest)
    finally:
        remove_tree(work)
    return dest


def read_update_signers(path: Path, where: str) -> tuple[str, ...]:
    """The keys lines of the allowed_signers file `update-signers` names, checked; they are
    embedded in bundle.json."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: {path} does not exist; give an allowed_signers file "
            "(`<principal> <keytype> <key>` per line, see ssh-keygen(1))"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: {path} cannot be read ({exc})") from exc
    try:
        check_allowed_signers(text, str(path))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return tuple(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )
