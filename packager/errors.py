"""The one exception hierarchy of pack. Library code raises these; only the CLI prints them."""

from __future__ import annotations

import errno


class PackError(Exception):
    """Root of every error pack reports to a user: the message is one line saying what, where
    and what to do next; `details` (a subprocess's output, say) is shown only with -v."""

    exit_code = 1

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class ConfigError(PackError):
    """The project or the command line asks for something invalid."""

    exit_code = 2


class LockError(PackError):
    """The lockfile is missing, malformed, unhashed or does not cover the target."""

    exit_code = 2


class NetworkError(PackError):
    """A download failed after every retry, or is impossible (offline)."""

    exit_code = 3


class ChecksumError(PackError):
    """Bytes did not match their known sha256."""

    exit_code = 4


class BuildError(PackError):
    """A build step (wheel build, install, smoke test, archive) failed."""

    exit_code = 5


class UnsafeArchiveError(PackError):
    """An archive that comes in tries to write outside its target."""

    exit_code = 4


class DiskError(PackError):
    """The disk refused a write: full, over quota or read-only. Nothing half-written is kept."""

    exit_code = 6


def disk_error(exc: OSError, what: str) -> DiskError | None:
    """A DiskError for `exc` when the disk itself refused (full, over quota, read-only), with
    `what` saying what was being written; None for any other OSError."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskError(f"{what} failed: {exc.strerror}; free some space there and run again")
    if exc.errno == errno.EROFS:
        return DiskError(
            f"{what} failed: {exc.strerror}; give a writable place (--out, or the cache with "
            "--cache-dir or PACK_CACHE_DIR)"
        )
    return None
