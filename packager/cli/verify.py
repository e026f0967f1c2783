"""`pack verify ARCHIVE_OR_DIR`: check a bundle against its `.pack/files` (and an archive
against its `.sha256`); exit status 0 only when everything matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pack_runtime.layout import FILES_LIST, SBOM_FILE

from ..errors import ChecksumError
from ._app import app, out

if TYPE_CHECKING:
    from ..verify import VerifyResult


def render(result: VerifyResult) -> str:
    """One line per difference, then the archive checksum and a summary line."""
    r = result.report
    lines = [f"modified    {p}" for p in r.modified]
    lines += [f"missing     {p}" for p in r.missing]
    lines += [f"unexpected  {p}" for p in r.unexpected]
    lines += [f"unsafe      {p}" for p in r.unsafe]
    sidecar = f"{result.source.name}.sha256"
    if result.checksum == "ok":
        lines.append(f"archive     matches {sidecar}")
    elif result.checksum == "mismatch":
        lines.append(
            f"archive     sha256 {result.actual_sha256} does not match {sidecar} "
            f"({result.expected_sha256})"
        )
    elif result.checksum == "absent":
        lines.append(f"archive     no {sidecar} beside it; only its contents were checked")
    sig = f"{result.source.name}.sig"
    if result.signature == "good":
        lines.append(f"signature   {sig}: good, signed by {result.signer}")
    elif result.signature == "bad":
        lines.append(f"signature   {result.signature_problem}")
    elif result.signature == "unchecked":
        lines.append(f"signature   {sig} not checked; pass --allowed-signers FILE to check it")
    if result.sbom == "ok":
        lines.append(f"sbom        {result.source.name}.cdx.json matches {SBOM_FILE}")
    elif result.sbom == "mismatch":
        lines.append(
            f"sbom        {result.source.name}.cdx.json differs from the bundle's {SBOM_FILE}"
        )
    if result.ok:
        lines.append(f"ok: {result.checked} entries match {FILES_LIST}")
    return "\n".join(lines)


_SOURCE_HELP = "A pack archive (.tar.zst, .tar.gz, .tar.xz) or a bundle directory."
_JSON_HELP = "Print one JSON object instead of a report."


@app.command("verify")
def verify_command(
    source: Annotated[Path, typer.Argument(help=_SOURCE_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    allowed_signers: Annotated[
        Path | None,
        typer.Option(
            "--allowed-signers",
            help="An ssh-keygen allowed_signers file: the archive's .sig must be by one of "
            "its keys.",
        ),
    ] = None,
) -> None:
    """Check every file of a bundle against its .pack/files (and an archive's .sha256, and
    with --allowed-signers its .sig), without unpacking it."""
    from ..verify import verify_bundle

    result = verify_bundle(source, allowed_signers)
    out(json.dumps(result.to_json(), indent=2, sort_keys=True) if as_json else render(result))
    if not result.ok:
        raise ChecksumError(failure(result, source, allowed_signers))


def failure(result: VerifyResult, source: Path, allowed_signers: Path | None) -> str:
    """The one error line for a failed verification: what failed and what to do about it. The
    contents (or the archive's checksum) failing means the bundle is not what pack built; a
    refused signature or a differing SBOM beside intact contents is not, and says so."""
    r = result.report
    counts = [
        (len(r.modified), "modified"),
        (len(r.missing), "missing"),
        (len(r.unexpected), "unexpected"),
        (len(r.unsafe), "unsafe"),
    ]
    parts = [f"{n} {what}" for n, what in counts if n]
    if result.checksum == "mismatch":
        parts.append("archive checksum mismatch")
    others: list[str] = []
    if result.sbom == "mismatch":
        others.append("SBOM beside it differs")
    if result.signature == "bad":
        others.append("signature refused")
    if parts:
        return (
            f"{source} does not match what pack built ({', '.join(parts + others)}); "
            "rebuild or re-download it"
        )
    found: list[str] = []
    todo: list[str] = []
    if result.signature == "bad":
        found.append("its signature was refused")
        todo.append(
            f"get a copy signed by a key in {allowed_signers}, or check that this file lists "
            "the publisher's key"
        )
    if result.sbom == "mismatch":
        found.append(f"{source.name}.cdx.json beside it differs from the bundle's SBOM")
        todo.append(f"write the bundle's own: `pack sbom {source} > {source}.cdx.json`")
    return f"{source}: every file matches what pack built, but {' and '.join(found)}; " + (
        "; ".join(todo)
    )
