"""`pack sbom ARCHIVE_OR_DIR`: print the CycloneDX SBOM a bundle carries, read straight from
the archive."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._app import app


@app.command("sbom")
def sbom_command(
    source: Annotated[
        Path,
        typer.Argument(help="A pack archive (.tar.zst, .tar.gz, .tar.xz) or a bundle directory."),
    ],
) -> None:
    """Print the bundle's CycloneDX 1.6 SBOM (.pack/sbom.cdx.json), without unpacking it."""
    from ..sbom import read_sbom

    sys.stdout.buffer.write(read_sbom(source))
    sys.stdout.flush()
