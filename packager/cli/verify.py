"""`pack verify ARCHIVE_OR_DIR`: check a bundle against its `.pack/files` (and an archive
against its `.sha256`); exit status 0 only when everything matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ChecksumError
from ..verify import VerifyResult, verify_bundle
from ._app import app, out


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
    if result.ok:
        lines.append(f"ok: {result.checked} entries match .pack/files")
    return "\n".join(lines)


_SOURCE_HELP = "A pack archive (.tar.zst, .tar.gz, .tar.xz) or a bundle directory."
_JSON_HELP = "Print one JSON object instead of a report."


@app.command("verify")
def verify_command(
    source: Annotated[Path, typer.Argument(help=_SOURCE_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Check every file of a bundle against its .pack/files, without unpacking it."""
    result = verify_bundle(source)
    out(json.dumps(result.to_json(), indent=2, sort_keys=True) if as_json else render(result))
    if not result.ok:
        r = result.report
        parts = [
            f"{len(r.modified)} modified",
            f"{len(r.missing)} missing",
            f"{len(r.unexpected)} unexpected",
        ]
        if r.unsafe:
            parts.append(f"{len(r.unsafe)} unsafe")
        if result.checksum == "mismatch":
            parts.append("archive checksum mismatch")
        raise ChecksumError(
            f"{source} does not match what pack built ({', '.join(parts)}); "
            "rebuild or re-download it"
        )
