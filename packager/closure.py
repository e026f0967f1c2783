"""The distributions installed in a venv, read from their `.dist-info` (name, version,
`Requires-Dist`, the files their RECORD lists), and what follows from them for one target:
the dependency graph with markers evaluated for the target's environment, the requirements
nothing installed satisfies (what `pip check` reports), and paths two distributions both
install. The build checks an assembled venv with it; an SBOM can take the graph as it is."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import BuildError


@dataclass(frozen=True)
class InstalledDistribution:
    name: NormalizedName
    display_name: str  # as the metadata spells it
    version: str
    requires: tuple[Requirement, ...]
    requires_python: str | None
    dist_info: str  # the folder name, `<name>-<version>.dist-info`
    files: tuple[str, ...] = field(default=(), compare=False)  # POSIX, relative to the venv
    # RECORD's `sha256=...` of each file that has one (scripts and modules do).
    digests: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Dependency:
    """One edge of the graph: `requirer` needs `requirement` on the target."""

    requirer: NormalizedName
    requirement: Requirement
    installed: InstalledDistribution | None  # what satisfies the name, if anything is installed

    @property
    def satisfied(self) -> bool:
        if self.installed is None:
            return False
        try:
            version = Version(self.installed.version)
        except InvalidVersion:
            return not self.requirement.specifier
        return self.requirement.specifier.contains(version, prereleases=True)

    def describe(self) -> str:
        """`app 1.0 requires six>=1.16, but six is not installed` (or `... 1.15 is installed`)."""
        why = (
            f"but {self.requirement.name} is not installed"
            if self.installed is None
            else f"but {self.installed.display_name} {self.installed.version} is installed"
        )
        return f"{self.requirer} requires {self.requirement}, {why}"


@dataclass(frozen=True)
class Overlap:
    """A path that two (or more) distributions install: the later install overwrote it."""

    path: str  # relative to the venv
    distributions: tuple[str, ...]  # `name version`, sorted


class MetadataError(BuildError):
    """A `.dist-info` that cannot be read (no METADATA, no Name or Version): a broken wheel."""


def _metadata(dist_info: Path) -> tuple[str, str, list[str], str | None]:
    try:
        data = (dist_info / "METADATA").read_bytes()
    except OSError as exc:
        raise MetadataError(f"{dist_info}: cannot read METADATA ({exc.strerror})") from exc
    headers = BytesHeaderParser().parsebytes(data)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise MetadataError(f"{dist_info}/METADATA has no Name or no Version")
    return (
        str(name),
        str(version),
        headers.get_all("Requires-Dist") or [],
        headers.get("Requires-Python"),
    )


def _record(dist_info: Path, site_rel: PurePosixPath) -> dict[str, str]:
    """The RECORD's paths made relative to the venv (scripts are `../../../bin/x` there),
    each with its recorded digest ("" when none)."""
    record = dist_info / "RECORD"
    if not record.is_file():
        return {}
    out: dict[str, str] = {}
    for row in csv.reader(io.StringIO(record.read_text(encoding="utf-8"))):
        if not row or not row[0]:
            continue
        path = os.path.normpath(site_rel / row[0])
        if not path.startswith(".."):
            out[PurePosixPath(path).as_posix()] = row[1] if len(row) > 1 else ""
    return out


def read_installed(site: Path, venv: Path | None = None) -> tuple[InstalledDistribution, ...]:
    """Every distribution whose `.dist-info` is in `site`, sorted by name. File paths are
    relative to `venv` (default: three levels up, `venv/lib/pythonX.Y/site-packages`)."""
    venv = venv or site.parents[2]
    site_rel = PurePosixPath(site.relative_to(venv).as_posix())
    found: list[InstalledDistribution] = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name, version, requires, requires_python = _metadata(dist_info)
        parsed: list[Requirement] = []
        for text in requires:
            try:
                parsed.append(Requirement(text))
            except InvalidRequirement as exc:
                raise MetadataError(
                    f"{dist_info}/METADATA: Requires-Dist {text!r} is invalid: {exc}"
                ) from exc
        record = _record(dist_info, site_rel)
        found.append(
            InstalledDistribution(
                name=canonicalize_name(name),
                display_name=name,
                version=version,
                requires=tuple(parsed),
                requires_python=requires_python,
                dist_info=dist_info.name,
                files=tuple(record),
                digests={path: digest for path, digest in record.items() if digest},
            )
        )
    return tuple(sorted(found, key=lambda d: d.name))


def dependency_graph(
    dists: Iterable[InstalledDistribution],
    environment: Mapping[str, str],
    extras: Mapping[str, Iterable[str]] | None = None,
) -> list[Dependency]:
    """Every requirement of every installed distribution that applies on the target whose
    marker environment is `environment`. `extras` names the extras asked of a distribution
    from outside (the project's `--extra`); extras one distribution asks of another
    (`b[x]`) are followed, so b's `extra == "x"` requirements count too."""
    by_name = {d.name: d for d in dists}
    wanted: dict[NormalizedName, set[str]] = {name: {""} for name in by_name}
    for name, asked in (extras or {}).items():
        key = canonicalize_name(name)
        if key in wanted:
            wanted[key] |= {canonicalize_name(e) for e in asked}
    edges: dict[tuple[NormalizedName, str], Dependency] = {}
    pending = list(wanted)
    while pending:
        name = pending.pop()
        dist = by_name[name]
        for req in dist.requires:
            for extra in sorted(wanted[name]):
                env = {**environment, "extra": extra}
                if req.marker is not None and not req.marker.evaluate(env):
                    continue
                target = canonicalize_name(req.name)
                edges.setdefault((name, str(req)), Dependency(name, req, by_name.get(target)))
                new = {canonicalize_name(e) for e in req.extras} - wanted.get(target, set())
                if target in wanted and new:
                    wanted[target] |= new
                    pending.append(target)
                break
    return sorted(edges.values(), key=lambda d: (d.requirer, str(d.requirement)))


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
            f"venv/{first.path} is installed by both {' and '.join(first.distributions)}{more}: "
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
