"""An update channel: a directory (served by any static web server, or copied into an air gap)
laid out as `<base>/<name>/<target>/latest.json` beside the archives it names. This module owns
the `latest.json` format: pack writes it with `latest_json`, bundles read it with
`read_offer`. Standard library only."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import RefusedError
from .fetch import is_url, read_small
from .pep440 import InvalidVersion, sort_key

LATEST = "latest.json"
MAX_LATEST_BYTES = 64 * 1024
SCHEMA = 1
# An archive name pack writes: one path component, no leading dot, nothing to unquote.
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Offer:
    """What a channel offers: one archive of `name` for `target`."""

    name: str
    version: str
    target: str
    file: str  # the archive's file name, beside latest.json
    sha256: str
    size: int
    built: str  # the build's time (ISO 8601 UTC), never the clock
    schema: int = SCHEMA


def latest_json(offer: Offer) -> bytes:
    return (json.dumps(asdict(offer), indent=2, sort_keys=True) + "\n").encode("utf-8")


def channel_path(name: str, target: str) -> str:
    """Where a channel keeps an app's archives for one target, relative to its base."""
    return f"{name}/{target}"


def latest_location(base: str, name: str, target: str) -> str:
    """The `latest.json` of `name` for `target` in the channel at `base` (URL or directory)."""
    if is_url(base):
        quoted = "/".join(urllib.parse.quote(part) for part in (name, target, LATEST))
        return f"{base.rstrip('/')}/{quoted}"
    return str(Path(base) / name / target / LATEST)


def archive_location(latest: str, file: str) -> str:
    """The archive `file` that the `latest.json` at `latest` names, beside it."""
    if is_url(latest):
        return urllib.parse.urljoin(latest, urllib.parse.quote(file))
    return str(Path(latest).parent / file)


def parse_offer(data: bytes, where: str) -> Offer:
    """Check every field: the values become a URL, a digest and a version comparison."""

    def bad(what: str) -> RefusedError:
        return RefusedError(f"{where}: {what}; the channel is damaged or not a pack channel")

    try:
        obj: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise bad("not a JSON object")
    if obj.get("schema") != SCHEMA:
        raise bad(f"schema {obj.get('schema')!r} is not {SCHEMA}")
    for key in ("name", "version", "target", "file", "sha256", "built"):
        if not isinstance(obj.get(key), str):
            raise bad(f"{key} is missing or not a string")
    size = obj.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise bad("size is not a positive integer")
    if not _FILE.match(obj["file"]) or ".." in obj["file"]:
        raise bad(f"file {obj['file']!r} is not a plain archive file name")
    if not _HEX64.match(obj["sha256"]):
        raise bad("sha256 is not 64 lowercase hex digits")
    try:
        sort_key(obj["version"])
    except InvalidVersion:
        raise bad(f"version {obj['version']!r} is not a PEP 440 version") from None
    return Offer(
        name=obj["name"],
        version=obj["version"],
        target=obj["target"],
        file=obj["file"],
        sha256=obj["sha256"],
        size=size,
        built=obj["built"],
    )


def read_offer(location: str, cafile: str | None = None) -> Offer:
    return parse_offer(read_small(location, MAX_LATEST_BYTES, cafile), location)


def offer_for(
    name: str, target: str, base: str | None, signed: bool, cafile: str | None
) -> tuple[str, Offer]:
    """Read what the channel at `base` (the bundle's update-url) offers for this app and
    target; returns where latest.json was and the checked offer."""
    if not base:
        raise RefusedError(
            "no SOURCE given and this bundle has no update-url; pass SOURCE (a path or URL "
            "of an archive), or build with update-url in [tool.pack]"
        )
    latest = latest_location(base, name, target)
    if latest.startswith("http://") and not signed:
        raise RefusedError(
            f"{latest}: plain http can be altered on the way, and this bundle has no update "
            "signers to check what it offers; serve the channel over https or build with "
            "update-signers"
        )
    offer = read_offer(latest, cafile)
    if offer.name != name:
        raise RefusedError(
            f"{latest} offers {offer.name} {offer.version}, not {name}; refusing to replace "
            "one app with another (check update-url)"
        )
    if offer.target != target:
        raise RefusedError(
            f"{latest} offers an archive for {offer.target}, but this bundle runs on {target}"
        )
    return latest, offer
