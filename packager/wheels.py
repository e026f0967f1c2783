"""The artifacts a lock plan names, made local and verified: each is taken from the cache
(`wheels/<sha256>/<filename>`), a wheelhouse given with --find-links, a path in the lock, or
downloaded; nothing reaches the installer without its sha256 checked."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from . import cache as cache_mod
from ._fs import remove_tree, sha256_file, staged_file
from .context import Context
from .errors import ChecksumError, NetworkError
from .locks import Artifact


def cached_path(ctx: Context, artifact: Artifact) -> Path:
    return (
        cache_mod.Cache(ctx.cache_dir).entry(cache_mod.WHEELS, artifact.sha256) / artifact.filename
    )


def _from_local(artifact: Artifact, source: Path, dest: Path) -> Path:
    digest = sha256_file(source)
    if digest != artifact.sha256:
        raise ChecksumError(
            f"{source}: sha256 is {digest}, the lock says {artifact.sha256} for {artifact.name}; "
            "the file does not match the lock: replace it (pack fetch) or fix the lock"
        )
    with staged_file(dest) as tmp:
        shutil.copyfile(source, tmp)
    return dest


def find_in(directory: Path, filename: str) -> Path | None:
    """`filename` in a wheelhouse; wheel names differ in case between indexes and locks
    (MarkupSafe-... vs markupsafe-...), and the sha256 decides anyway."""
    exact = directory / filename
    if exact.is_file():
        return exact
    lowered = filename.lower()
    if directory.is_dir():
        for candidate in directory.iterdir():
            if candidate.name.lower() == lowered and candidate.is_file():
                return candidate
    return None


def _usable(ctx: Context, dest: Path, artifact: Artifact, *, verify: bool) -> bool:
    """A cached copy counts when it is there (and, when asked to verify, still has the
    digest it was stored under; a damaged one is dropped: call it holding the entry lock)."""
    if not dest.is_file():
        return False
    if verify and sha256_file(dest) != artifact.sha256:
        remove_tree(dest.parent)
        return False
    cache_mod.touch_used(dest.parent)
    return True


def obtain(
    ctx: Context, artifact: Artifact, find_links: Sequence[Path] = (), *, verify: bool = False
) -> Path:
    """A verified local copy of `artifact` in the cache. With `verify`, a cached copy is
    hashed again before it is trusted (`--refresh`)."""
    dest = cached_path(ctx, artifact)
    if not verify and _usable(ctx, dest, artifact, verify=False):
        return dest
    with cache_mod.entry_lock(dest.parent):
        if _usable(ctx, dest, artifact, verify=verify):
            return dest
        if artifact.path is not None:
            if not artifact.path.is_file():
                raise NetworkError(
                    f"{artifact.path} (named by the lock for {artifact.name}) does not exist; "
                    "restore it or regenerate the lock"
                )
            return _from_local(artifact, artifact.path, dest)
        for directory in find_links:
            candidate = find_in(directory, artifact.filename)
            if candidate is not None:
                return _from_local(artifact, candidate, dest)
        if ctx.offline:
            where = ", ".join(str(d) for d in find_links) or "no --find-links directory given"
            raise NetworkError(
                f"offline: {artifact.filename} ({artifact.name} {artifact.version or ''}) is "
                f"not in the cache ({ctx.cache_dir / cache_mod.WHEELS}) nor in --find-links "
                f"({where}); run `pack fetch --dest DIR` where there is network and build with "
                "--find-links DIR"
            )
        if artifact.url is None:
            raise NetworkError(
                f"{artifact.filename} ({artifact.name}) has no URL and is not in the cache nor "
                "in a --find-links directory; pass the directory that holds it with --find-links"
            )
        from .download import download  # httpx is imported only when something is fetched

        return download(ctx, artifact.url, dest, sha256=artifact.sha256, label=artifact.filename)


def obtain_all(
    ctx: Context,
    artifacts: Sequence[Artifact],
    find_links: Sequence[Path] = (),
    *,
    verify: bool = False,
) -> list[Path]:
    missing = [a for a in artifacts if not cached_path(ctx, a).is_file()]
    if missing:
        ctx.reporter.step(f"Fetching {len(missing)} of {len(artifacts)} locked artifacts")
    return [obtain(ctx, a, find_links, verify=verify) for a in artifacts]
