"""Getting a verified interpreter archive for a build: an explicit local archive, else the pin
in pack.lock, else the catalog or the mirror's SHA256SUMS; fetched once into the cache
(`downloads/<sha256>/<filename>`, one lock per entry) and never used unverified."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from .. import cache as cache_mod
from .._fs import remove_tree
from ..context import Context
from ..download import NotFoundError, download, is_local
from ..errors import ConfigError, NetworkError, PackError
from ..targets import Target
from .asset import InterpreterArchive, describe, local_archive
from .catalog import Asset, Catalog, plan, select
from .mirror import UPSTREAM, asset_sum, asset_url, mirror_base, release_sums, sums_url
from .pin import read_pins
from .request import DEFAULT_FLAVOR, FLAVORS, Request, parse_request

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def obtain_interpreter(
    ctx: Context,
    *,
    request: str | None,
    variant: str | None,
    flavor: str | None,
    archive: Path | None,
    target: Target,
    mirror: str | None,
    pin_file: Path | None,
    catalog: Catalog | None = None,
) -> InterpreterArchive:
    """The interpreter archive a build for `target` uses, verified. In order: `archive` (a
    local file, checked against a SHA256SUMS or .sha256 beside it), the pin for `target` in
    `pin_file`, or `request` resolved from the catalog (the bundled one by default) or the
    mirror. Downloads go to the cache once, even with concurrent callers."""
    req = parse_request(request, variant=variant, flavor=flavor)
    asked = request is not None or variant is not None or flavor is not None
    if archive is not None:
        return _explicit_archive(archive, req if asked else None, target)
    base = mirror_base(mirror, ctx.environ)
    pin = read_pins(pin_file).get(target.triple) if pin_file is not None else None
    if pin is not None:
        asset = pin.asset
        if asked and not asset.satisfies(req):
            raise ConfigError(
                f"{pin_file} pins {asset.label} for {target}, which does not satisfy the "
                f"requested Python {req}; run `pack python lock {req} --target {target}` to "
                "change the pin"
            )
        ctx.reporter.detail(f"{target}: {asset.filename}, pinned in {pin_file}")
        url = asset_url(base, asset.tag, asset.filename) if base else pin.url
    else:
        asset = resolve_asset(ctx, req, target, base=base, catalog=catalog)
        url = asset_url(base or UPSTREAM, asset.tag, asset.filename)
    return fetch_asset(ctx, asset, url)


def resolve_asset(
    ctx: Context, request: Request, target: Target, *, base: str | None, catalog: Catalog | None
) -> Asset:
    """Resolve `request` for `target` to one asset with a known digest. Assets the catalog
    lists need nothing else; others are looked up in their release's SHA256SUMS (or, offline,
    among the archives already in the cache)."""
    catalog = catalog or Catalog.bundled()
    planned = plan(request, target, catalog)
    if isinstance(planned, Asset) and planned.sha256:
        return planned
    tag = planned.tag
    root = base or UPSTREAM
    if ctx.offline and not is_local(root):
        cached = [
            a
            for a in (_as_asset(found) for found in cached_archives(ctx))
            if a is not None and a.triple == target.triple and a.satisfies(request)
        ]
        if isinstance(planned, Asset):
            cached = [a for a in cached if a.filename == planned.filename]
        hit = select(cached, request)
        if hit is not None:
            return hit
        if isinstance(planned, Asset):
            name, hint = planned.filename, _fetch_hint(planned.label, planned.flavor, target)
        else:
            name, hint = f"CPython {request}", _fetch_hint(str(request), request.flavor, target)
        raise NetworkError(
            f"offline (--offline): {name} for {target} is not in the cache "
            f"({ctx.cache_dir / cache_mod.DOWNLOADS}) and its digest is in "
            f"{sums_url(root, tag)}, which cannot be fetched; run {hint} with network access "
            "first, pass --python-archive PATH, or use a file:// mirror"
        )
    ctx.reporter.detail(f"reading the digests of release {tag} from {sums_url(root, tag)}")
    try:
        sums = release_sums(ctx, root, tag)
    except NotFoundError:
        digest = asset_sum(ctx, root, tag, planned.filename) if isinstance(planned, Asset) else None
        if digest is None or not isinstance(planned, Asset):
            raise
        return replace(planned, sha256=digest)
    if isinstance(planned, Asset):
        digest = sums.get(planned.filename)
        if digest is None:
            raise NetworkError(
                f"release {tag} at {root} has no {planned.filename}; " + _what_exists(sums, target)
            )
        return Asset.parse(planned.filename, digest) or planned
    offered = [a for a in (Asset.parse(n, d) for n, d in sums.items()) if a is not None]
    chosen = select((a for a in offered if a.triple == target.triple), request)
    if chosen is None:
        raise NetworkError(
            f"release {tag} at {root} has no CPython {request} for {target}; "
            + _what_exists(sums, target)
        )
    return chosen


def _fetch_hint(request: str, flavor: str | None, target: Target) -> str:
    """The command that would put this interpreter in the cache."""
    extra = f" --python-flavor {flavor}" if flavor and flavor != DEFAULT_FLAVOR else ""
    return f"`pack python fetch {request} --target {target}{extra}`"


def _what_exists(sums: dict[str, str], target: Target) -> str:
    """What a release's SHA256SUMS offers for `target` (or which targets it has at all)."""
    assets = [a for a in (Asset.parse(n) for n in sums) if a is not None]
    mine = sorted(
        (a for a in assets if a.triple == target.triple), key=Asset.sort_key, reverse=True
    )
    if not mine:
        triples = sorted({a.triple for a in assets})
        return f"it has nothing for {target} (it has: {', '.join(triples) or 'no interpreters'})"
    labels = [f"{a.version}{'t' if a.freethreaded else ''} {a.flavor}" for a in mine]
    return f"for {target} it has: {', '.join(dict.fromkeys(labels))}"


def fetch_asset(ctx: Context, asset: Asset, url: str) -> InterpreterArchive:
    """The cached, verified archive for `asset` (which must have its digest), downloading it
    from `url` first if needed. One process downloads; concurrent ones wait and reuse it."""
    if asset.sha256 is None:
        raise PackError(f"internal error: {asset.filename} has no known digest")
    store = cache_mod.Cache(ctx.cache_dir)
    entry = store.entry(cache_mod.DOWNLOADS, asset.sha256)
    path = entry / asset.filename
    if store.is_provisioned(entry) and path.is_file():
        cache_mod.touch_used(entry)
        return describe(path, asset.sha256)
    if ctx.offline and not is_local(url):
        raise NetworkError(
            f"offline (--offline): {asset.filename} is not in the cache "
            f"({ctx.cache_dir / cache_mod.DOWNLOADS}); run "
            f"{_fetch_hint(asset.label, asset.flavor, Target(asset.triple))} with network access "
            "first (or carry in a cache that has it), pass --python-archive PATH, or use a "
            "file:// mirror"
        )

    def build(tmp: Path) -> None:
        ctx.reporter.step(f"Downloading {asset.filename}")
        download(ctx, url, tmp / asset.filename, sha256=asset.sha256, label=asset.filename)

    try:
        with cache_mod.entry_lock(entry):
            # A marked entry without its file was damaged by hand: rebuild it.
            if store.is_provisioned(entry) and not path.is_file():
                _adopt_or_discard(entry, path)
        cache_mod.provision(entry, build)
    except NotFoundError as exc:
        raise NetworkError(f"{exc}; {_release_listing(ctx, url, asset)}") from exc
    if not path.is_file():
        with cache_mod.entry_lock(entry):
            _adopt_or_discard(entry, path)
    if not path.is_file():
        raise PackError(f"cache entry {entry} is damaged; remove it and try again")
    return describe(path, asset.sha256)


def _adopt_or_discard(entry: Path, path: Path) -> None:
    """`entry` holds the right bytes under another name (the same archive published twice):
    link it under `path` too; an entry with no archive at all is removed."""
    others = [p for p in entry.iterdir() if p.is_file() and p.name != cache_mod.MARKER]
    if others:
        os.link(others[0], path)
    else:
        remove_tree(entry)


def _release_listing(ctx: Context, url: str, asset: Asset) -> str:
    """For a 404: what the release on that mirror does have, so the user can pick."""
    suffix = f"/{asset.tag}/"
    root = url[: url.rfind(suffix)] if suffix in url else None
    if root is None:
        return "check the mirror"
    try:
        sums = release_sums(ctx, root, asset.tag)
    except PackError:
        return f"the mirror has no release {asset.tag} either; check the mirror"
    return f"release {asset.tag} there: " + _what_exists(sums, Target(asset.triple))


def _explicit_archive(archive: Path, request: Request | None, target: Target) -> InterpreterArchive:
    found = local_archive(archive)
    if found.flavor not in FLAVORS:
        raise ConfigError(
            f"{archive} is a {found.flavor} archive; pack needs the install_only or "
            "install_only_stripped archive of that release"
        )
    if found.triple != target.triple:
        raise ConfigError(
            f"{archive} is built for {found.triple}, but the target is {target}; pass an "
            f"archive for {target} or change the target"
        )
    if request is not None and not request.accepts(
        version=found.version, tag=found.tag, freethreaded=found.freethreaded, flavor=found.flavor
    ):
        raise ConfigError(
            f"{archive} is CPython {found.version}{'t' if found.freethreaded else ''}, but "
            f"Python {request} was requested; pass a matching archive or change the request"
        )
    return found


def cached_archives(ctx: Context) -> list[InterpreterArchive]:
    """Every verified interpreter archive in the cache."""
    root = ctx.cache_dir / cache_mod.DOWNLOADS
    found: list[InterpreterArchive] = []
    if not root.is_dir():
        return found
    for entry in sorted(root.iterdir()):
        if not (_SHA256.match(entry.name) and (entry / cache_mod.MARKER).is_file()):
            continue
        for path in sorted(entry.iterdir()):
            if path.name != cache_mod.MARKER and path.is_file() and Asset.parse(path.name):
                found.append(describe(path, entry.name))
    return found


def _as_asset(found: InterpreterArchive) -> Asset | None:
    return Asset.parse(found.filename, found.sha256)
