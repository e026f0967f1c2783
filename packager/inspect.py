"""What is in a bundle, read from an archive by streaming it (nothing is unpacked to disk) or
from a bundle directory: its bundle.json, and where its size goes (runtime, each distribution
in site-packages by its RECORD, the rest). The figures add up to the unpacked size."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pack_runtime.layout import BUNDLE_JSON, PYTHON, SBOM_FILE, VENV

from .bundlearchive import Format, format_of, read_bundle
from .distinfo import record_rows
from .manifest import BundleManifest

_SITE = re.compile(rf"^{re.escape(VENV)}/lib/python[^/]+/site-packages/")
_PYC = re.compile(r"^(.*?)__pycache__/([^/.]+)\.[^/]+\.pyc$")
_RECORD = re.compile(
    rf"^({re.escape(VENV)}/lib/python[^/]+/site-packages)/([^/]+)\.dist-info/RECORD$"
)


@dataclass(frozen=True)
class DistSize:
    name: str
    version: str
    files: int
    size: int


@dataclass(frozen=True)
class SizeBreakdown:
    """Bytes of regular files (symlinks and folders count as 0), split so that
    `runtime + sum(d.size for d in distributions) + unattributed + rest == total`."""

    total: int
    runtime: int
    distributions: tuple[DistSize, ...]
    unattributed: int
    rest: int

    @property
    def site_packages(self) -> int:
        return sum(d.size for d in self.distributions) + self.unattributed


@dataclass(frozen=True)
class Inspection:
    source: Path
    format: Format
    archive_size: int | None
    manifest: BundleManifest | None
    files: int
    links: int
    folders: int
    sizes: SizeBreakdown
    sbom_components: int | None = None  # components in .pack/sbom.cdx.json; None: no SBOM

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the `--json` output of `pack inspect`."""
        return {
            "source": str(self.source),
            "format": self.format,
            "archive_size": self.archive_size,
            "manifest": None if self.manifest is None else _manifest_dict(self.manifest),
            "sbom": None
            if self.sbom_components is None
            else {"path": SBOM_FILE, "components": self.sbom_components},
            "counts": {"files": self.files, "links": self.links, "folders": self.folders},
            "sizes": {
                "total": self.sizes.total,
                "runtime": self.sizes.runtime,
                "site_packages": {
                    "total": self.sizes.site_packages,
                    "distributions": [
                        {"name": d.name, "version": d.version, "files": d.files, "size": d.size}
                        for d in self.sizes.distributions
                    ],
                    "unattributed": self.sizes.unattributed,
                },
                "rest": self.sizes.rest,
            },
        }


def _manifest_dict(manifest: BundleManifest) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(manifest.to_json())
    return data


@dataclass
class _Dist:
    name: str
    version: str
    paths: set[str] = field(default_factory=set)


def inspect_bundle(source: Path) -> Inspection:
    """Describe the bundle in `source` (a pack archive or a bundle directory)."""
    sizes: dict[str, int] = {}
    links = folders = 0
    dists: list[_Dist] = []
    manifest: BundleManifest | None = None
    sbom_components: int | None = None
    wanted = {BUNDLE_JSON, SBOM_FILE}
    for member in read_bundle(source, keep=lambda p: p in wanted or bool(_RECORD.match(p))):
        if member.kind == "file":
            sizes[member.path] = member.size
            if member.path == SBOM_FILE and member.data is not None:
                sbom_components = _count_components(member.data)
            elif member.path == BUNDLE_JSON and member.data is not None:
                manifest = BundleManifest.from_json(member.data, f"{source}: {BUNDLE_JSON}")
            elif member.data is not None and (m := _RECORD.match(member.path)):
                dists.append(_dist_from_record(m.group(1), m.group(2), member.data))
        elif member.kind == "link":
            links += 1
        elif member.kind == "dir":
            folders += 1
    fmt = format_of(source) if source.is_file() else "dir"
    assert fmt is not None  # read_bundle accepted it
    return Inspection(
        source=source,
        format=fmt,
        archive_size=source.stat().st_size if source.is_file() else None,
        manifest=manifest,
        files=len(sizes),
        links=links,
        folders=folders,
        sizes=_breakdown(sizes, dists),
        sbom_components=sbom_components,
    )


def _count_components(data: bytes) -> int:
    """Components of the SBOM, the application itself included; 0 when it is unreadable
    (`pack verify` is what tells a damaged file)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return 0
    if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
        return 0
    return len(doc["components"]) + 1


def _dist_from_record(site: str, info_name: str, record: bytes) -> _Dist:
    name, _, version = info_name.partition("-")
    dist = _Dist(name, version)
    for row in record_rows(record.decode("utf-8", errors="replace")):
        if row and row[0]:
            # RECORD paths are relative to site-packages; scripts reach out with `../../../bin`.
            dist.paths.add(posixpath.normpath(posixpath.join(site, row[0])))
    return dist


def _breakdown(sizes: dict[str, int], dists: list[_Dist]) -> SizeBreakdown:
    owner: dict[str, int] = {}
    # Sorted, so that a file claimed by two RECORDs always goes to the same one.
    dists.sort(key=lambda d: (d.name.lower(), d.version))
    for index, dist in enumerate(dists):
        for path in dist.paths:
            owner.setdefault(path, index)
    # Bytecode compiled at build time is in no RECORD: it belongs to its source's distribution.
    for path in sizes:
        if path not in owner and (m := _PYC.match(path)):
            source_owner = owner.get(f"{m.group(1)}{m.group(2)}.py")
            if source_owner is not None:
                owner[path] = source_owner
    per_dist = [[0, 0] for _ in dists]
    runtime = unattributed = rest = 0
    for path, size in sizes.items():
        if path.startswith(f"{PYTHON}/"):
            runtime += size
        elif (owner_index := owner.get(path)) is not None:
            per_dist[owner_index][0] += 1
            per_dist[owner_index][1] += size
        elif _SITE.match(path):
            unattributed += size
        else:
            rest += size
    return SizeBreakdown(
        total=sum(sizes.values()),
        runtime=runtime,
        distributions=tuple(
            DistSize(d.name, d.version, files, size)
            for d, (files, size) in zip(dists, per_dist, strict=True)
        ),
        unattributed=unattributed,
        rest=rest,
    )
