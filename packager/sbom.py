"""The bundle's CycloneDX 1.6 SBOM (`.pack/sbom.cdx.json`, and `<archive>.cdx.json` beside the
archive): what is in a bundle (the application, the interpreter, every installed distribution
with its license, the file the lock named and the dependency graph for the target), read from
the assembled tree, rendered with cyclonedx-python-lib. The same inputs give the same bytes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pack_runtime.sbom import SBOM_FILE as SBOM_FILE
from pack_runtime.sums import sha256_file

from . import __version__
from .distinfo import InstalledDistribution, read_installed
from .distinfo import dependency_graph as distinfo_graph
from .errors import BuildError, ChecksumError

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom

SIDECAR_SUFFIX = ".cdx.json"
SPEC_VERSION = "1.6"
_PEP770_DIR = "sboms"


@dataclass(frozen=True)
class EmbeddedSbom:
    """A file a distribution ships under `.dist-info/sboms/` (PEP 770): its path relative
    to the bundle root and its sha256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Distribution:
    """One installed distribution as its metadata describes it. `license` is an SPDX
    expression (`License-Expression`) or, when there is none, the license classifiers."""

    name: str
    version: str
    sha256: str  # of the file the lock (or the build) installed it from; "" when unknown
    license_expression: str | None
    license_names: tuple[str, ...]
    requires_dist: tuple[str, ...]
    sboms: tuple[EmbeddedSbom, ...] = ()

    @property
    def key(self) -> NormalizedName:
        return canonicalize_name(self.name)

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{self.key}@{self.version}"


@dataclass(frozen=True)
class Interpreter:
    asset: str  # the python-build-standalone archive's file name
    version: str
    sha256: str


@dataclass(frozen=True)
class SbomPlan:
    """Everything the SBOM says, decided before anything is rendered."""

    name: str
    version: str
    app_distribution: NormalizedName | None  # the app's own installed distribution, if any
    app_requires: tuple[str, ...]  # [project] dependencies when the app has no wheel
    interpreter: Interpreter
    distributions: tuple[Distribution, ...]
    environment: Mapping[str, str]  # the target's PEP 508 marker environment
    extras: tuple[str, ...]  # the app's extras that were installed
    epoch: int


def read_distributions(
    root: Path,
    site_rel: str,
    hashes: Mapping[NormalizedName, str],
    installed: Sequence[InstalledDistribution] | None = None,
) -> tuple[Distribution, ...]:
    """Every `*.dist-info` in `root/site_rel` (the bundle's site-packages), sorted by name;
    `hashes` gives the sha256 of the file each one was installed from. `installed`: what
    distinfo.read_installed found there, when the caller has read it already."""
    site = root / site_rel
    out: list[Distribution] = []
    for dist in read_installed(site, root) if installed is None else installed:
        info = site / dist.dist_info
        names = tuple(
            c.removeprefix("License :: ").removeprefix("OSI Approved :: ")
            for c in dist.license_classifiers
        )
        sboms = tuple(
            EmbeddedSbom(f"{site_rel}/{p.relative_to(site).as_posix()}", sha256_file(p))
            for p in sorted((info / _PEP770_DIR).rglob("*"))
            if p.is_file()
        )
        out.append(
            Distribution(
                name=dist.display_name,
                version=dist.version,
                sha256=hashes.get(dist.name, ""),
                license_expression=dist.license_expression,
                license_names=names,
                requires_dist=dist.requires_dist,
                sboms=sboms,
            )
        )
    return tuple(sorted(out, key=lambda d: d.key))


def _requirements(lines: Iterable[str], where: str) -> tuple[Requirement, ...]:
    out = []
    for line in lines:
        try:
            out.append(Requirement(line))
        except InvalidRequirement as exc:
            raise BuildError(f"{where}: Requires-Dist {line!r} is not valid ({exc})") from exc
    return tuple(out)


def dependency_graph(plan: SbomPlan) -> dict[str, tuple[NormalizedName, ...]]:
    """Edges from the app (key "") and each distribution to the installed distributions its
    `Requires-Dist` names for the target: markers evaluated in the target's environment,
    with the extras that others (or the build's configuration) asked of it."""

    def node(
        key: NormalizedName, name: str, version: str, requires: Iterable[str], where: str
    ) -> InstalledDistribution:
        return InstalledDistribution(
            name=key,
            display_name=name,
            version=version,
            requires=_requirements(requires, where),
            requires_python=None,
            dist_info="",
        )

    nodes = [
        node(d.key, d.name, d.version, d.requires_dist, f"{d.name} {d.version}")
        for d in plan.distributions
    ]
    # Without a wheel of its own, the app is a node of its [project] dependencies keyed "".
    root_key = plan.app_distribution or NormalizedName("")
    if plan.app_distribution is None:
        where = f"{plan.name}: [project] dependencies"
        nodes.append(node(root_key, plan.name, plan.version, plan.app_requires, where))
    edges: dict[str, set[NormalizedName]] = {node.name: set() for node in nodes}
    for dep in distinfo_graph(nodes, plan.environment, {root_key: plan.extras}):
        if dep.installed is not None:
            edges[dep.requirer].add(dep.installed.name)
    graph = {key: tuple(sorted(deps)) for key, deps in edges.items()}
    if plan.app_distribution is not None:
        graph[""] = graph.pop(plan.app_distribution)
    return graph


def preload_renderer() -> None:
    """Import the SBOM library now (its import is most of an SBOM's time): called while the
    build waits for a subprocess, so the import costs nothing when `render` runs."""
    import cyclonedx.model.bom
    import cyclonedx.model.component
    import cyclonedx.model.license
    import cyclonedx.output.json  # noqa: F401
    import packageurl  # noqa: F401


def render(plan: SbomPlan) -> bytes:
    """The SBOM as UTF-8 JSON. The serial number is derived from the document itself and the
    timestamp is the build's epoch, so the same plan always gives the same bytes."""
    # Imported here: the library is only needed when a bundle is built, not at CLI start-up.
    from cyclonedx.output.json import JsonV1Dot6

    bom = _bom(plan)
    bom.serial_number = uuid.UUID(int=0)
    document = json.loads(JsonV1Dot6(bom).output_as_string(indent=2))
    # The serial is the digest of the document with a zero serial: set in the rendered
    # document rather than rendering it a second time (the library is the slow part).
    digest = hashlib.sha256(_dumps(document)).digest()
    document["serialNumber"] = uuid.UUID(bytes=digest[:16], version=5).urn
    return _dumps(document)


def _dumps(document: object) -> bytes:
    # Sorted keys: the library orders top-level keys by insertion.
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _bom(plan: SbomPlan) -> Bom:
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from packageurl import PackageURL

    def sha256(content: str) -> list[HashType]:
        return [HashType(alg=HashAlgorithm.SHA_256, content=content)] if content else []

    def component(d: Distribution, kind: ComponentType) -> Component:
        licenses: list[LicenseExpression] | list[DisjunctiveLicense]
        if d.license_expression:
            licenses = [LicenseExpression(d.license_expression)]
        else:
            licenses = [DisjunctiveLicense(name=n) for n in d.license_names]
        return Component(
            type=kind,
            name=d.name,
            version=d.version,
            bom_ref=d.purl,
            purl=PackageURL(type="pypi", name=d.key, version=d.version),
            hashes=sha256(d.sha256),
            licenses=licenses,
            external_references=[
                ExternalReference(
                    type=ExternalReferenceType.BOM,
                    url=XsUri(s.path),
                    comment="SBOM shipped by the distribution (PEP 770)",
                    hashes=sha256(s.sha256),
                )
                for s in d.sboms
            ],
        )

    py = plan.interpreter
    interpreter = Component(
        type=ComponentType.APPLICATION,
        name="cpython",
        version=py.version,
        bom_ref=f"pkg:generic/cpython@{py.version}",
        purl=PackageURL(type="generic", name="cpython", version=py.version),
        description=f"python-build-standalone {py.asset}",
        hashes=sha256(py.sha256),
        licenses=[LicenseExpression("PSF-2.0")],
        properties=[Property(name="pack:python-build-standalone:asset", value=py.asset)],
    )
    by_key = {d.key: d for d in plan.distributions}
    if plan.app_distribution is not None:
        app = component(by_key[plan.app_distribution], ComponentType.APPLICATION)
    else:
        app = Component(
            type=ComponentType.APPLICATION,
            name=plan.name,
            version=plan.version,
            bom_ref=f"pkg:pypi/{canonicalize_name(plan.name)}@{plan.version}",
        )
    bom = Bom()
    bom.metadata.component = app
    bom.metadata.timestamp = datetime.fromtimestamp(plan.epoch, tz=UTC)
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="pack", version=__version__)
    )
    components = {
        d.key: component(d, ComponentType.LIBRARY)
        for d in plan.distributions
        if d.key != plan.app_distribution
    }
    bom.components.add(interpreter)
    for c in components.values():
        bom.components.add(c)
    graph = dependency_graph(plan)
    bom.register_dependency(app, [interpreter, *(components[k] for k in graph.pop(""))])
    bom.register_dependency(interpreter, [])
    for key, c in components.items():
        bom.register_dependency(c, [components[k] for k in graph.get(key, ())])
    return bom


def wheel_hashes(wheels: Sequence[Path]) -> dict[NormalizedName, str]:
    """The sha256 of wheels built or given for this bundle, by distribution name."""
    return {canonicalize_name(w.name.split("-")[0]): sha256_file(w) for w in wheels}


def sidecar_path(archive: Path) -> Path:
    """Where the SBOM beside `archive` lives."""
    return archive.with_name(archive.name + SIDECAR_SUFFIX)


def plan_for_bundle(
    *,
    root: Path,
    site: Path,
    name: str,
    version: str,
    app_wheel: Path | None,
    extra_wheels: Sequence[Path],
    locked: Mapping[str, str],
    project_dependencies: Sequence[str],
    interpreter: Interpreter,
    environment: Mapping[str, str],
    extras: Sequence[str],
    epoch: int,
    installed: Sequence[InstalledDistribution] | None = None,
) -> SbomPlan:
    """The SBOM plan of the assembled bundle at `root` (`site` its site-packages): `locked`
    maps each locked package name to the sha256 of the file the lock named; `installed` as
    for read_distributions."""
    hashes = {canonicalize_name(k): v for k, v in locked.items()}
    hashes.update(wheel_hashes([*extra_wheels, *([app_wheel] if app_wheel else [])]))
    app_key = canonicalize_name(app_wheel.name.split("-")[0]) if app_wheel else None
    return SbomPlan(
        name=name,
        version=version,
        app_distribution=app_key,
        app_requires=() if app_wheel else tuple(project_dependencies),
        interpreter=interpreter,
        distributions=read_distributions(
            root, site.relative_to(root).as_posix(), hashes, installed
        ),
        environment=dict(environment),
        extras=tuple(extras),
        epoch=epoch,
    )


def read_sbom(source: Path) -> bytes:
    """The SBOM inside the bundle in `source` (archive or directory), streamed: the archive
    is read up to `.pack/sbom.cdx.json`, which sorts near its start, and never unpacked."""
    from .bundlearchive import read_bundle

    for member in read_bundle(source, keep=lambda p: p == SBOM_FILE):
        if member.path == SBOM_FILE and member.kind == "file" and member.data is not None:
            return member.data
    raise ChecksumError(
        f"{source} has no {SBOM_FILE}; it was built by a pack without SBOM support or is "
        "damaged: rebuild it with this pack"
    )
