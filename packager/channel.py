"""Publishing to an update channel (`pack build --channel DIR`): the archive and the files
beside it (`.sha256`, `.sig`, `.cdx.json`) copied into `DIR/<name>/<target>/`, then that
folder's `latest.json` rewritten, last and atomically, so a fleet polling the channel never
sees an offer whose files are not all there. The format is pack_runtime.channel's."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pack_runtime.channel import LATEST, Offer, channel_path, latest_json

from ._fs import atomic_write_bytes, staged_file
from .errors import BuildError


@dataclass(frozen=True)
class Published:
    latest: Path  # the rewritten latest.json
    files: tuple[Path, ...]  # what was copied into the channel


def publish(
    channel: Path,
    *,
    name: str,
    version: str,
    target: str,
    archive: Path,
    sha256: str,
    size: int,
    built: str,
    beside: tuple[Path, ...],
) -> Published:
    """Add `archive` and the files `beside` it to the channel and point latest.json at it."""
    folder = channel / channel_path(name, target)
    copied: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for src in (archive, *beside):
            dest = folder / src.name
            with staged_file(dest) as tmp:
                shutil.copyfile(src, tmp)
                tmp.chmod(0o644)
            copied.append(dest)
        offer = Offer(name, version, target, archive.name, sha256, size, built)
        latest = folder / LATEST
        atomic_write_bytes(latest, latest_json(offer))
    except OSError as exc:
        raise BuildError(
            f"publishing to the channel {channel} failed: {exc}; check the free space and "
            "permissions there (the archive in the output directory is complete)"
        ) from exc
    return Published(latest, tuple(copied))
