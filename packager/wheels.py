"""The artifacts a lock plan names, made local and verified: each is taken from the cache
(`wheels/<sha256>/<filename>`), a wheelhouse given with --find-links, a path in the lock, or
downloaded; nothing reaches the installer without its sha256 checked."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from . import cache as cache_mod
from ._fs import sha256_file, staged_file
from .context import Context
from .errors import ChecksumError, NetworkError
from .lockfile import Artifact


def cached_path(ctx: Context, artifact: Artifact) -> Path:
    return cache_mod.Cache(ctx.cache_dir).entry(cache_mod.WHEELS, artifact.sha256) / artifact.filename


def _from_local(ctx: Context, artifact: Artifact, source: Path, dest: Path) -> Path:
    digest = sha256_file(source)
    if digest != artifact.sha256:
        raise ChecksumError(
            f"{source}: sha256 is {digest}, the lock says {artifact.sha256} for {artifact.name}; "
            "the file does not match the lock"
        )
    with staged_file(dest) as tmp:
        shutil.copyfile(source, tmp)
    return dest


def _find_in(directory: Path, filename: str) -> Path | None:
    """`filename` in a wheelhouse; wheel names differ in case between indexes and locks
    (MarkupSafe-... vs markupsafe-...), and the sha256 decides anyway."""
    exact = directory / filename
    if exact.is_file():
        return exact
    lowered = filename.lower()
    for candidate in directory.glob("*"):
        if candidate.name.lower() == lowered and candidate.is_file():
            return candidate
    return None


def obtain(ctx: Context, artifact: Artifact, find_links: Sequence[Path] = ()) -> Path:
    """A verified local copy of `artifact` in the cache."""
    dest = cached_path(ctx, artifact)
    if dest.is_file():
        return dest
    with cache_mod.entry_lock(dest.parent):
        if dest.is_file():
            return dest
        if artifact.path is not None:
            if not artifact.path.is_file():
                raise NetworkError(
                    f"{artifact.path} (named by the lock for {artifact.name}) does not exist"
                )
            return _from_local(ctx, artifact, artifact.path, dest)
        for directory in find_links:
            candidate = _find_in(directory, artifact.filename)
            if candidate is not None:
                return _from_local(ctx, artifact, candidate, dest)
        if artifact.url is None:
            raise NetworkError(f"no location for {artifact.filename} in the lock")
        if ctx.offline:
            where = ", ".join(str(d) for d in find_links) or "no --find-links directory"
            raise NetworkError(
                f"offline: {artifact.filename} ({artifact.name}) is not in the cache nor in "
                f"{where}; fetch it first with `pack fetch` or drop --offline"
            )
        from .download import download  # httpx is imported only when something is fetched

        return download(ctx, artifact.url, dest, sha256=artifact.sha256, label=artifact.filename)


def obtain_all(ctx: Context, artifacts: Sequence[Artifact], find_links: Sequence[Path] = ()) -> list[Path]:
    missing = [a for a in artifacts if not cached_path(ctx, a).is_file()]
    if missing:
        ctx.reporter.step(f"Fetching {len(missing)} of {len(artifacts)} locked artifacts")
    return [obtain(ctx, a, find_links) for a in artifacts]
