"""The installed metadata of wheels, as pypa/installer's `records.py` owns it: `.dist-info`
folders and their names, METADATA (name, version, Requires-Dist, licence fields), RECORD
(read, and rewritten when an installer's own record is removed) and entry_points.txt; and
from them the one dependency graph of what is installed, with markers evaluated for a target
and extras followed, that both the closure check and the SBOM use."""

from __future__ import annotations

import configparser
import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ._fs import atomic_write_text
from .errors import BuildError

RECORD = "RECORD"
ENTRY_POINTS = "entry_points.txt"
SCRIPT_SECTIONS = ("console_scripts", "gui_scripts")


class MetadataError(BuildError):
    """A `.dist-info` that cannot be read (no METADATA, no Name or Version): a broken wheel."""


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
    license_expression: str | None = field(default=None, compare=False)
    license_classifiers: tuple[str, ...] = field(default=(), compare=False)  # `License :: ...`
    requires_dist: tuple[str, ...] = field(default=(), compare=False)  # as written


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


def dist_info_name(wheel: Path) -> str:
    """`<name>-<version>.dist-info` of a wheel file, as its own filename spells them."""
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}.dist-info"


def dist_info_project(dist_info: str) -> str:
    """The project part of a `.dist-info` folder name, as the folder spells it."""
    return dist_info.split("-")[0]


def dist_infos(site: Path) -> list[Path]:
    """The `.dist-info` folders in `site`, sorted."""
    return sorted(site.glob("*.dist-info"))


def record_rows(text: str) -> list[list[str]]:
    """The rows of a RECORD file's text (CSV: path, hash, size)."""
    return list(csv.reader(io.StringIO(text)))


def installed_files(site: Path, dist_info: str) -> list[Path]:
    """The files the RECORD of `site/dist_info` lists inside `site`, resolved."""
    record = site / dist_info / RECORD
    if not record.is_file():
        return []
    rows = record_rows(record.read_text(encoding="utf-8"))
    return [(site / row[0]).resolve() for row in rows if row and not row[0].startswith("..")]


def remove_recorded(dist_info: Path, names: Iterable[str]) -> None:
    """Delete the files `names` of `dist_info` and drop their lines from its RECORD."""
    present = list(names)
    for name in present:
        (dist_info / name).unlink()
    record = dist_info / RECORD
    if record.is_file():
        drop = {f"{dist_info.name}/{name}" for name in present}
        rows = record_rows(record.read_text(encoding="utf-8"))
        keep = [r for r in rows if r and r[0] not in drop]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(keep)
        atomic_write_text(record, buf.getvalue())


def _record(dist_info: Path, site_rel: PurePosixPath) -> dict[str, str]:
    """The RECORD's paths made relative to the venv (scripts are `../../../bin/x` there),
    each with its recorded digest ("" when none)."""
    record = dist_info / RECORD
    if not record.is_file():
        return {}
    out: dict[str, str] = {}
    for row in record_rows(record.read_text(encoding="utf-8")):
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
    for dist_info in dist_infos(site):
        try:
            data = (dist_info / "METADATA").read_bytes()
        except OSError as exc:
            raise MetadataError(f"{dist_info}: cannot read METADATA ({exc.strerror})") from exc
        raw, _ = parse_email(data)
        name, version = raw.get("name"), raw.get("version")
        if not name or not version:
            raise MetadataError(f"{dist_info}/METADATA has no Name or no Version")
        requires = tuple(raw.get("requires_dist") or ())
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
                requires_python=raw.get("requires_python"),
                dist_info=dist_info.name,
                files=tuple(record),
                digests={path: digest for path, digest in record.items() if digest},
                license_expression=raw.get("license_expression") or None,
                license_classifiers=tuple(
                    c for c in raw.get("classifiers") or [] if c.startswith("License :: ")
                ),
                requires_dist=requires,
            )
        )
    return tuple(sorted(found, key=lambda d: d.name))


def scripts(site: Path) -> Iterator[tuple[Path, str, str, str, str]]:
    """Every console and GUI script the entry_points.txt files in `site` declare, as
    (file, distribution as its folder spells it, section, name, value), in folder order."""
    for ep_file in sorted(site.glob(f"*.dist-info/{ENTRY_POINTS}")):
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(ep_file.read_text(encoding="utf-8"))
        dist = dist_info_project(ep_file.parent.name)
        for section in SCRIPT_SECTIONS:
            if parser.has_section(section):
                for name, value in parser.items(section):
                    yield ep_file, dist, section, name, value


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
