"""The stub's errors: the modules raise them and only cli.py prints them. Each class carries
the exit status its command ends with, so the status tells a script what went wrong."""

from __future__ import annotations

import errno

# A write refused by the disk itself, not by anything in the request: full, over quota, or
# mounted read-only.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class StubError(Exception):
    """Root of every error the stub reports: a one-line message saying what was wrong, where,
    and what to do next."""

    exit_code = 1


class RefusedError(StubError):
    """The request is not allowed as given (bad arguments, not a pack bundle, another app,
    no confirmation); nothing was changed."""

    exit_code = 2


class NetworkError(StubError):
    """A download failed."""

    exit_code = 3


class ChecksumError(StubError):
    """Bytes did not match their published sha256, or an archive tried to escape its target."""

    exit_code = 4


class BrokenBundleError(StubError):
    """A new version failed its verification or its smoke test; it was not switched to."""

    exit_code = 5


class DiskError(StubError):
    """The disk refused a write (full, over quota, read-only), or would have: nothing was
    switched, and what was written is removed."""

    exit_code = 6
