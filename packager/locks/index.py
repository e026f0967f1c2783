"""The simple package index (PEP 503 HTML pages) as a source of files for a pinned release,
with its cache: what an index once listed for a pin is kept (`index/<key>/files.json`), and
offline the cache and --find-links directories stand in for it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .. import cache as cache_mod
from .._fs import atomic_write_text, sha256_file
from ..context import Context

PYPI = "https://pypi.org/simple"


class Pin(Protocol):
    """A release pinned to one version, with the sha256 digests its files may have (none:
    any file of the release)."""

    @property
    def name(self) -> NormalizedName: ...
    @property
    def version(self) -> str: ...
    @property
    def hashes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class IndexFile:
    """A file the index (or a local directory) offers for a pin, with its sha256."""

    filename: str
    url: str | None
    sha256: str


def same_release(filename: str, name: str, version: str) -> bool:
    try:
        if filename.endswith(".whl"):
            fname, fversion = parse_wheel_filename(filename)[:2]
        else:
            fname, fversion = parse_sdist_filename(filename)
        return fname == name and fversion == Version(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return False


class _Links(HTMLParser):
    """The anchors of a PEP 503 simple index page: (href, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _from_index(ctx: Context, pin: Pin, index_urls: Sequence[str]) -> list[IndexFile]:
    from ..download import NotFoundError, fetch_bytes  # httpx only when the index is read

    found: list[IndexFile] = []
    for base in index_urls:
        page_url = f"{base}/{pin.name}/"
        try:
            page = fetch_bytes(ctx, page_url, label=f"index page of {pin.name}")
        except NotFoundError:
            continue
        parser = _Links()
        parser.feed(page.decode("utf-8", errors="replace"))
        for href, text in parser.links:
            url = urljoin(page_url, href)
            parts = urlsplit(url)
            filename = text or unquote(parts.path.rsplit("/", 1)[-1])
            digest = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", parts.fragment)
            if digest is None or not same_release(filename, pin.name, pin.version):
                continue
            sha = digest[1].lower()
            if pin.hashes and sha not in pin.hashes:
                continue
            found.append(IndexFile(filename, parts._replace(fragment="").geturl(), sha))
        if found:
            break
    return found


def _from_local(ctx: Context, pin: Pin, find_links: Sequence[Path]) -> list[IndexFile]:
    """Files for `pin` already in the cache (by the digests the line lists) or in a
    --find-links directory: what an offline build can plan from."""
    found: dict[str, IndexFile] = {}
    store = cache_mod.Cache(ctx.cache_dir)
    for sha in sorted(pin.hashes):
        entry = store.entry(cache_mod.WHEELS, sha)
        if entry.is_dir():
            for f in sorted(entry.iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    found[sha] = IndexFile(f.name, None, sha)
    for directory in find_links:
        if not directory.is_dir():
            continue
        for f in sorted(directory.iterdir()):
            if f.is_file() and same_release(f.name, pin.name, pin.version):
                sha = sha256_file(f)
                if (not pin.hashes or sha in pin.hashes) and sha not in found:
                    found[sha] = IndexFile(f.name, None, sha)
    return list(found.values())


def lookup_files(
    ctx: Context, index_urls: Sequence[str], find_links: Sequence[Path] = ()
) -> Callable[[Pin], list[IndexFile]]:
    """A lookup from a pin to its files. What an index once listed for a pin is kept in the
    cache (`index/<key>/files.json`), so warm and offline builds plan the same way without
    asking again; offline with nothing kept, the cache and --find-links are searched."""
    store = cache_mod.Cache(ctx.cache_dir)
    links = list(find_links)

    def lookup(pin: Pin) -> list[IndexFile]:
        key = cache_mod.cache_key(
            {
                "indexes": list(index_urls),
                "name": pin.name,
                "version": pin.version,
                "hashes": sorted(pin.hashes),
            }
        )
        entry = store.entry(cache_mod.INDEX, key)
        listing = entry / "files.json"
        if store.is_provisioned(entry) and listing.is_file():
            cache_mod.touch_used(entry)
            return [IndexFile(**f) for f in json.loads(listing.read_text())]
        if ctx.offline or not index_urls:
            return _from_local(ctx, pin, links)
        files = _from_index(ctx, pin, index_urls)
        if not files:
            return _from_local(ctx, pin, links)

        def build(tmp: Path) -> None:
            atomic_write_text(
                tmp / "files.json",
                json.dumps([asdict(f) for f in files], indent=1, sort_keys=True) + "\n",
            )

        cache_mod.provision(entry, build)
        return files

    return lookup
