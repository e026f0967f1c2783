"""Whether an assembled venv is whole for one target, from its installed distributions (read
by `distinfo`): the requirements nothing installed satisfies (what `pip check` reports) and
paths two distributions both install. The build checks an assembled venv with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pack_runtime.layout import VENV

from .distinfo import Dependency, InstalledDistribution, dependency_graph
from .errors import BuildError


@dataclass(frozen=True)
class Overlap:
    """A path that two (or more) distributions install: the later install overwrote it."""

    path: str  # relative to the venv
    distributions: tuple[str, ...]  # `name version`, sorted


def unsatisfied(
    dists: Iterable[InstalledDistribution],
    environment: Mapping[str, str],
    extras: Mapping[str, Iterable[str]] | None = None,
) -> list[Dependency]:
    """The requirements, evaluated for the target, that nothing installed satisfies."""
    return [d for d in dependency_graph(dists, environment, extras) if not d.satisfied]


def overlaps(dists: Iterable[InstalledDistribution]) -> list[Overlap]:
    """Paths listed in the RECORD of more than one distribution, unless every one of them
    records the same digest (an identical file, e.g. a pkgutil-style namespace
    `__init__.py`: overwriting it changed nothing)."""
    owners: dict[str, list[tuple[str, str]]] = {}
    for dist in dists:
        for path in dist.files:
            owner = f"{dist.display_name} {dist.version}"
            owners.setdefault(path, []).append((owner, dist.digests.get(path, "")))
    found: list[Overlap] = []
    for path, entries in sorted(owners.items()):
        names = {name for name, _ in entries}
        digests = {digest for _, digest in entries}
        if len(names) > 1 and (len(digests) > 1 or "" in digests):
            found.append(Overlap(path, tuple(sorted(names))))
    return found


def check_installed(
    dists: Sequence[InstalledDistribution],
    environment: Mapping[str, str],
    extras: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """The assembled venv must be whole: no path installed by two distributions, and every
    requirement that applies on the target satisfied by what is installed."""
    clashes = overlaps(dists)
    if clashes:
        first = clashes[0]
        more = f" (and {len(clashes) - 1} more paths)" if len(clashes) > 1 else ""
        raise BuildError(
            f"{VENV}/{first.path} is installed by both {' and '.join(first.distributions)}{more}: "
            "the later install overwrote the other's file; keep only one of them (in the lock, the "
            "project's dependencies or local-extra-deps)"
        )
    gaps = unsatisfied(dists, environment, extras)
    if gaps:
        shown = "; ".join(g.describe() for g in gaps[:5])
        more = f" (and {len(gaps) - 5} more)" if len(gaps) > 5 else ""
        raise BuildError(
            f"the bundle's venv does not hold what its packages require: {shown}{more}; the "
            "lock is not the whole closure: regenerate it with every dependency (uv lock, "
            "uv pip compile --generate-hashes)"
        )
