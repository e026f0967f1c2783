"""sha256 digests: of a file (the one helper, for the stub and for pack), and sha256sum-format
files (`<64 hex>  <file>` per line, `*` before the name for binary mode, or one bare digest):
the one reader, for the stub's updates and pack's archives, interpreter archives and mirrors.
Standard library only."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Optional

_LINE = re.compile(r"^([0-9a-fA-F]{64})(?:[ \t]+\*?(.+))?$")

Entry = tuple[str, Optional[str]]  # (lowercase digest, file name or None for a bare digest)


_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of the file at `path`, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        chunk = f.read(_CHUNK)
        while chunk:
            h.update(chunk)
            chunk = f.read(_CHUNK)
    return h.hexdigest()


class SumsError(ValueError):
    """A sha256sum file that is empty, malformed, or says nothing about the file in question."""


def parse(text: str, where: str) -> list[Entry]:
    """Every line of a sha256sum file; a line that is not one is an error naming `where`."""
    entries: list[Entry] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = _LINE.match(line)
        if not m:
            raise SumsError(f"{where} line {n} is not `<64 hex digits>  <file>`")
        entries.append((m[1].lower(), m[2].strip() if m[2] else None))
    return entries


def as_dict(text: str, where: str) -> dict[str, str]:
    """File name -> digest, for a file that lists many (a release's SHA256SUMS)."""
    return {name: digest for digest, name in parse(text, where) if name}


def digest_for(text: str, where: str, name: str, *, renamed_ok: bool = False) -> str:
    """The digest a sha256sum file gives for the file `name` (names compared without any
    directory). An empty file, or one that does not mention `name`, is an error: a checksum
    file that says nothing must not pass for a check. A bare digest applies to any name; with
    `renamed_ok`, so does a file's only line (the file may have been renamed since)."""
    entries = parse(text, where)
    if not entries:
        raise SumsError(f"{where} is empty; expected `<64 hex digits>  {name}`")
    named = [d for d, n in entries if n is not None and n.rsplit("/", 1)[-1] == name]
    if named:
        return named[0]
    if len(entries) == 1 and (entries[0][1] is None or renamed_ok):
        return entries[0][0]
    if len(entries) == 1:
        raise SumsError(f"{where} is the digest of {entries[0][1]!r}, not of {name!r}")
    raise SumsError(f"{where} has no line for {name!r}")
