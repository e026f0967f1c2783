"""Extraction of tar archives that come in from outside (interpreter archives, mirrors): the
rules and bounds are `pack_runtime.archive`'s, the same the bundle stub applies to updates;
this module only turns its errors into pack's."""

from __future__ import annotations

from pathlib import Path

from pack_runtime import archive as runtime_archive
from pack_runtime.archive import Limits
from pack_runtime.errors import ChecksumError as RuntimeChecksumError
from pack_runtime.errors import DiskError as RuntimeDiskError
from pack_runtime.errors import StubError

from .errors import DiskError, PackError, UnsafeArchiveError

__all__ = ["Limits", "safe_extract"]


def safe_extract(archive: Path, dest: Path, limits: Limits | None = None) -> Path:
    """Extract `archive` into the empty directory `dest` and return its single top folder.
    On refusal, raises UnsafeArchiveError naming the archive and the entry; the caller
    extracts into a staging directory and discards it."""
    try:
        return runtime_archive.safe_extract(archive, dest, limits=limits)
    except RuntimeDiskError as exc:
        raise DiskError(str(exc)) from exc
    except RuntimeChecksumError as exc:
        raise UnsafeArchiveError(str(exc)) from exc
    except StubError as exc:
        raise PackError(str(exc)) from exc
