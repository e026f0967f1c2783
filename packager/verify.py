"""Proving a bundle is what pack built: every file and symlink checked against the bundle's own
`.pack/files` (an archive is streamed and hashed, never unpacked), and an archive against the
`.sha256` file beside it when there is one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pack_runtime import sums
from pack_runtime.errors import StubError
from pack_runtime.filelist import (
    FILES_LIST,
    Entry,
    FileListError,
    Report,
    compare,
    loads,
    mode_of,
    unsafe_reason,
)
from pack_runtime.signatures import signature_path, verify_signature

from ._fs import sha256_file
from .bundlearchive import read_bundle, sha256_sidecar
from .errors import ChecksumError, ConfigError
from .sbom import SBOM_FILE, sidecar_path

ChecksumState = Literal["ok", "mismatch", "absent", "not-applicable"]
SignatureState = Literal["good", "bad", "unchecked", "absent", "not-applicable"]


@dataclass(frozen=True)
class VerifyResult:
    source: Path
    report: Report
    checked: int
    checksum: ChecksumState
    expected_sha256: str = ""
    actual_sha256: str = ""
    sbom: ChecksumState = "absent"  # `<archive>.cdx.json` against the bundle's own SBOM
    signature: SignatureState = "not-applicable"
    signer: str = ""  # who signed, when the signature is good
    signature_problem: str = ""  # why it is not, when bad

    @property
    def ok(self) -> bool:
        return (
            self.report.ok
            and self.checksum in ("ok", "absent", "not-applicable")
            and self.sbom != "mismatch"
            and self.signature != "bad"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "ok": self.ok,
            "checked": self.checked,
            "modified": self.report.modified,
            "missing": self.report.missing,
            "unexpected": self.report.unexpected,
            "unsafe": self.report.unsafe,
            "archive_sha256": {
                "state": self.checksum,
                "expected": self.expected_sha256,
                "actual": self.actual_sha256,
            },
            "sbom_sidecar": self.sbom,
            "signature": {
                "state": self.signature,
                "signer": self.signer,
                "problem": self.signature_problem,
            },
        }


def verify_bundle(
    source: Path,
    allowed_signers: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> VerifyResult:
    """Check the bundle in `source` (archive or directory), and with `allowed_signers` the
    archive's `.sig` too. Differences are reported in the result; a bundle that cannot be
    checked at all (no readable `.pack/files`) is an error."""
    checksum: ChecksumState = "not-applicable"
    expected = actual = ""
    signature: SignatureState = "not-applicable"
    signer = problem = ""
    if allowed_signers is not None and not allowed_signers.is_file():
        raise ConfigError(
            f"--allowed-signers {allowed_signers} does not exist; give an allowed_signers "
            "file (`<principal> <keytype> <key>` per line, see ssh-keygen(1))"
        )
    if allowed_signers is not None and not source.is_file():
        raise ConfigError(
            f"{source} is not an archive; signatures are made over archives, so check the "
            "archive with --allowed-signers"
        )
    if source.is_file():
        checksum, expected, actual = _check_sidecar(source)
        signature, signer, problem = _check_signature(source, allowed_signers, environ)
    listed: bytes | None = None
    sbom: bytes | None = None
    found: list[Entry] = []
    unsafe: list[str] = []
    dirs: set[str] = set()
    parents: set[str] = set()
    for member in read_bundle(source, digests=True, keep=lambda p: p in (FILES_LIST, SBOM_FILE)):
        why = unsafe_reason(member.kind, member.path, member.mode, member.nlink, member.target)
        if why:
            unsafe.append(f"{member.path} ({why})")
        parents.add(member.path.rpartition("/")[0])
        if member.path == FILES_LIST and member.kind == "file":
            listed = member.data
            continue
        if member.path == SBOM_FILE and member.kind == "file":
            sbom = member.data
        if member.kind == "file":
            mode = mode_of(0o755 if member.executable else 0o644)
            found.append(Entry(member.path, "file", member.sha256, member.size, mode))
        elif member.kind == "link":
            found.append(Entry(member.path, "link", target=member.target))
        elif member.kind == "dir":
            dirs.add(member.path)
        else:
            found.append(Entry(member.path, "other"))
    # Empty directories are listed (a new one is unexpected); the others are implied by what
    # they hold.
    found += [Entry(d, "dir") for d in dirs - parents]
    if listed is None:
        raise ChecksumError(
            f"{source} has no {FILES_LIST}, so there is nothing to verify it against; "
            "it is damaged or was not built by pack"
        )
    try:
        expected_entries = loads(listed.decode("utf-8"), f"{source}: {FILES_LIST}")
    except (FileListError, UnicodeDecodeError) as exc:
        raise ChecksumError(f"{exc}; the bundle is damaged or was not built by pack") from None
    report = compare(expected_entries, found)
    report.unsafe = sorted(unsafe)
    return VerifyResult(
        source=source,
        report=report,
        checked=len(expected_entries),
        checksum=checksum,
        expected_sha256=expected,
        actual_sha256=actual,
        sbom=_check_sbom_sidecar(source, sbom),
        signature=signature,
        signer=signer,
        signature_problem=problem,
    )


def _check_signature(
    archive: Path, allowed_signers: Path | None, environ: Mapping[str, str] | None
) -> tuple[SignatureState, str, str]:
    sig = signature_path(archive)
    if allowed_signers is None:
        return ("unchecked" if sig.is_file() else "absent"), "", ""
    try:
        signer = verify_signature(
            archive, sig, allowed_signers, os.environ if environ is None else environ
        )
    except StubError as exc:
        return "bad", "", str(exc)
    return "good", str(signer), ""


def _check_sbom_sidecar(source: Path, embedded: bytes | None) -> ChecksumState:
    """The SBOM published beside an archive must be the one inside it."""
    sidecar = sidecar_path(source)
    if not sidecar.is_file():
        return "absent"
    return "ok" if embedded is not None and sidecar.read_bytes() == embedded else "mismatch"


def _check_sidecar(archive: Path) -> tuple[ChecksumState, str, str]:
    sidecar = sha256_sidecar(archive)
    if not sidecar.is_file():
        return "absent", "", ""
    text = sidecar.read_text(encoding="utf-8", errors="replace")
    try:
        # The line for this file name, else the only line (the archive may have been renamed).
        expected = sums.digest_for(text, str(sidecar), archive.name, renamed_ok=True)
    except sums.SumsError as exc:
        raise ChecksumError(f"{exc}; re-download it or delete it") from None
    actual = sha256_file(archive)
    return ("ok" if actual == expected else "mismatch"), expected, actual
