"""One python-build-standalone archive on disk, verified: what its file name says (version,
release tag, target, flavour) and its sha256."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pack_runtime import sums

from .._fs import sha256_file
from ..errors import ChecksumError, ConfigError

# cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz
_NAME = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:[abrc]+\d+)?)(?:\+(?P<tag>\d{8}))?-"
    r"(?P<triple>[a-z0-9_]+-(?:unknown-linux-(?:gnu|musl)|apple-darwin|pc-windows-msvc))-"
    r"(?:(?P<variant>freethreaded)[-+])?"
    r"(?P<flavor>install_only(?:_stripped)?|pgo\+lto-full|[a-z+]+-full)"
    r"\.(?P<ext>tar\.gz|tar\.zst|tar\.xz)$"
)


@dataclass(frozen=True)
class InterpreterArchive:
    path: Path
    sha256: str
    filename: str
    version: str
    tag: str | None
    triple: str
    flavor: str
    freethreaded: bool

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)


def parse_filename(name: str) -> dict[str, str | None] | None:
    m = _NAME.match(name)
    return m.groupdict() if m else None


def _sums_beside(path: Path) -> str | None:
    """The digest `<file>.sha256` (or else `SHA256SUMS`) beside `path` gives for it; None when
    there is neither. A checksum file that is empty or does not name the archive is an error:
    it must not pass for a check."""
    for sidecar in (path.with_name(path.name + ".sha256"), path.with_name("SHA256SUMS")):
        if sidecar.is_file():
            text = sidecar.read_text(encoding="utf-8", errors="replace")
            try:
                return sums.digest_for(text, str(sidecar), path.name)
            except sums.SumsError as exc:
                raise ChecksumError(f"{exc}; fix it or delete it") from None
    return None


def local_archive(path: Path, *, expected_sha256: str | None = None) -> InterpreterArchive:
    """Verify and describe an interpreter archive given on the command line or in config.
    Its digest is checked against `expected_sha256`, else a `SHA256SUMS`/`.sha256` beside it."""
    if not path.is_file():
        raise ConfigError(
            f"interpreter archive {path} does not exist; pass an existing "
            "python-build-standalone install_only archive with --python-archive"
        )
    fields = parse_filename(path.name)
    if fields is None:
        raise ConfigError(
            f"{path.name} is not named like a python-build-standalone archive "
            "(cpython-<version>+<tag>-<target>-install_only[_stripped].tar.gz|.tar.zst)"
        )
    digest = sha256_file(path)
    expected = (expected_sha256 or _sums_beside(path) or "").lower() or None
    if expected and expected != digest:
        raise ChecksumError(
            f"{path}: sha256 is {digest}, expected {expected}; the file is corrupt or was "
            "replaced: fetch it again"
        )
    return describe(path, digest)


def describe(path: Path, sha256: str) -> InterpreterArchive:
    """The InterpreterArchive for a file whose digest is already verified (a cache entry)."""
    fields = parse_filename(path.name)
    if fields is None:
        raise ConfigError(f"{path.name} is not named like a python-build-standalone archive")
    return InterpreterArchive(
        path=path.absolute(),
        sha256=sha256,
        filename=path.name,
        version=str(fields["version"]),
        tag=fields["tag"],
        triple=str(fields["triple"]),
        flavor=str(fields["flavor"]),
        freethreaded=fields["variant"] == "freethreaded",
    )
