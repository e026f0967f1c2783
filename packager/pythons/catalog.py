"""What python-build-standalone offers: the assets (with sha256) shipped as data by the
`pbs-installer` package, widened to the targets and flavours it leaves out, and the pure
resolution of a Request for a Target to exactly one asset."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import metadata
from urllib.parse import unquote

from packaging.version import Version

from ..errors import ConfigError
from ..targets import KNOWN_TRIPLES, Target
from .asset import parse_filename
from .request import FLAVORS, Request


@dataclass(frozen=True)
class Asset:
    """One install_only archive of a release. `sha256` None: the catalog does not list this
    file (another target or flavour of a listed release); its release's SHA256SUMS has it."""

    filename: str
    version: str
    tag: str
    triple: str
    flavor: str
    freethreaded: bool
    sha256: str | None = None

    @classmethod
    def parse(cls, filename: str, sha256: str | None = None) -> Asset | None:
        """The asset a file name describes, if it is a tagged install_only archive."""
        fields = parse_filename(filename)
        if fields is None or not fields["tag"] or fields["flavor"] not in FLAVORS:
            return None
        return cls(
            filename=filename,
            version=str(fields["version"]),
            tag=str(fields["tag"]),
            triple=str(fields["triple"]),
            flavor=str(fields["flavor"]),
            freethreaded=fields["variant"] == "freethreaded",
            sha256=sha256.lower() if sha256 else None,
        )

    @property
    def label(self) -> str:
        """`3.13.1t+20250115`: the request that names exactly this release."""
        return f"{self.version}{'t' if self.freethreaded else ''}+{self.tag}"

    def sort_key(self) -> tuple[Version, str, bool]:
        return Version(self.version), self.tag, self.flavor == "install_only_stripped"

    def derive(self, *, triple: str | None = None, flavor: str | None = None) -> Asset:
        """The sibling archive of the same release for another target or flavour; its digest
        is unknown until the release's SHA256SUMS is read."""
        triple = triple or self.triple
        flavor = flavor or self.flavor
        variant = "freethreaded-" if self.freethreaded else ""
        name = f"cpython-{self.version}+{self.tag}-{triple}-{variant}{flavor}.tar.gz"
        return replace(self, filename=name, triple=triple, flavor=flavor, sha256=None)

    def satisfies(self, request: Request) -> bool:
        return request.accepts(
            version=self.version, tag=self.tag, freethreaded=self.freethreaded, flavor=self.flavor
        )


@dataclass(frozen=True)
class ReleaseLookup:
    """Resolution needs the release `tag`'s SHA256SUMS: the catalog does not know it."""

    tag: str


@dataclass(frozen=True)
class Catalog:
    assets: tuple[Asset, ...]
    source: str = "a custom catalog"

    @classmethod
    def bundled(cls) -> Catalog:
        """The catalog shipped by the installed `pbs-installer` package."""
        return _bundled()

    def offers(self, target: Target) -> list[Asset]:
        """Every asset for `target`, newest first: listed ones with their digest, plus the
        siblings python-build-standalone publishes that the catalog leaves out (musl and
        microarchitecture builds, unstripped install_only) with digest None."""
        listed = [a for a in self.assets if a.triple == target.triple]
        if not listed and target.os == "linux":
            # pbs-installer lists only the baseline glibc builds; the same releases publish
            # musl and x86-64-v2..v4 builds under the same naming scheme.
            base = f"{target.arch}-unknown-linux-gnu"
            listed = [a.derive(triple=target.triple) for a in self.assets if a.triple == base]
        out = list(listed)
        for asset in listed:
            if asset.flavor == "install_only_stripped":
                out.append(asset.derive(flavor="install_only"))
        return sorted(out, key=Asset.sort_key, reverse=True)

    def tags(self) -> list[str]:
        return sorted({a.tag for a in self.assets}, reverse=True)


@functools.cache
def _bundled() -> Catalog:
    with warnings.catch_warnings():
        # Some pbs-installer releases read their data with a deprecated importlib API.
        warnings.simplefilter("ignore", DeprecationWarning)
        from pbs_installer import _versions

    assets: list[Asset] = []
    for version, files in _versions.PYTHON_VERSIONS.items():
        if version.implementation != "cpython":
            continue
        for (_, _, install_only), (url, sha256) in files.items():
            if not install_only or not sha256:
                continue
            # Only the file name is used: URLs are always built from the mirror in use.
            asset = Asset.parse(unquote(url.rsplit("/", 1)[-1]), sha256)
            if asset is not None and asset.triple in KNOWN_TRIPLES:
                assets.append(asset)
    try:
        source = f"pbs-installer {metadata.version('pbs-installer')}"
    except metadata.PackageNotFoundError:
        source = "pbs-installer"
    return Catalog(tuple(sorted(assets, key=Asset.sort_key, reverse=True)), source)


def select(candidates: Iterable[Asset], request: Request) -> Asset | None:
    """The best asset satisfying `request`: the newest version, then the newest release,
    then the stripped flavour unless another one was asked for."""
    matching = [a for a in candidates if a.satisfies(request)]
    return max(matching, key=Asset.sort_key) if matching else None


def plan(request: Request, target: Target, catalog: Catalog) -> Asset | ReleaseLookup:
    """Resolve `request` for `target` from the catalog alone: an asset (digest None when it
    must come from the release's SHA256SUMS), or a ReleaseLookup when the request names a
    release the catalog does not know. Raises ConfigError listing the nearest versions."""
    offered = catalog.offers(target)
    chosen = select(offered, request)
    if chosen is not None:
        return chosen
    if request.tag is not None:
        return ReleaseLookup(request.tag)
    near = nearest(request, offered)
    listing = f"nearest available: {', '.join(near)}" if near else "it offers nothing for it"
    flavor = f" ({request.flavor})" if request.flavor else ""
    raise ConfigError(
        f"no CPython {request}{flavor} for {target} in the catalog ({catalog.source}); {listing}; "
        "pick one of these, or name a newer release with its tag (VERSION+YYYYMMDD) to "
        "resolve it from the mirror"
    )


def nearest(request: Request, offered: Iterable[Asset], n: int = 5) -> list[str]:
    """Up to `n` versions closest to `request` (same variant and flavour), newest first."""
    versions = {
        a.version
        for a in offered
        if a.freethreaded == request.freethreaded and request.flavor in (None, a.flavor)
    }
    want = (*request.release, 0, 0)[:3]
    suffix = "t" if request.freethreaded else ""

    def distance(version: str) -> tuple[int, int, int]:
        have = Version(version).release[:3]
        micro = abs(have[2] - want[2]) if len(request.release) == 3 else -have[2]
        return abs(have[0] - want[0]), abs(have[1] - want[1]), micro

    if len(request.release) < 3:
        # A minor-level request is best answered with the newest patch of nearby minors.
        newest: dict[tuple[int, ...], str] = {}
        for v in sorted(versions, key=Version):
            newest[Version(v).release[:2]] = v
        versions = set(newest.values())
    near = sorted(versions, key=distance)[:n]
    return [v + suffix for v in sorted(near, key=Version, reverse=True)]
