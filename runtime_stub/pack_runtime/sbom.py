"""Where a bundle keeps its CycloneDX SBOM, and reading it inside a running bundle (`self
sbom`). Standard library only; pack writes the file with packager.sbom."""

from __future__ import annotations

from pathlib import Path

from .errors import StubError
from .layout import SBOM_FILE as SBOM_FILE


def read_sbom(root: Path) -> bytes:
    path = Path(root) / SBOM_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StubError(
            f"{path} does not exist: this bundle was built by a pack without SBOM support "
            "(or the file was deleted; `self verify` tells which)"
        ) from None
    except OSError as exc:
        raise StubError(f"{path}: cannot be read ({exc.strerror})") from None
