"""Reading `.pack/bundle.json` inside a running bundle: a plain dict typed as BundleInfo, after
checking the schema version. Standard library only; pack writes the file with
packager.manifest, whose docs (docs/bundle-format.md) describe every field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict, cast

from .layout import BUNDLE_JSON as BUNDLE_JSON

SCHEMA_VERSION = 1
_DAMAGED = "; the bundle is damaged or was not built by pack"


class BundleInfoError(ValueError):
    """`bundle.json` is missing, malformed or of a schema this code does not know."""


class PythonInfo(TypedDict):
    version: str
    implementation: str
    asset: str
    sha256: str
    tag: str
    flavor: str
    freethreaded: bool


class LockInfo(TypedDict):
    path: str
    format: str
    sha256: str


class _EntryPointRequired(TypedDict):
    name: str
    module: str
    attr: str | None
    distribution: str


class EntryPointInfo(_EntryPointRequired, total=False):
    executable: str | None  # `venv/bin/<program>`: run directly, no Python


class LocalPackageInfo(TypedDict):
    name: str
    version: str
    path: str
    sha256: str


class BuildInfo(TypedDict):
    source_date_epoch: int
    time: str


class _Optional(TypedDict, total=False):
    # Written only by packs that know them (older bundles lack them).
    smoke_test: str | None  # absent in bundles built before it was recorded
    update_signers: list[str]  # allowed_signers lines: who may sign this app's updates
    update_url: str | None  # the update channel's base URL (or directory)
    local_packages: list[LocalPackageInfo]  # absent in bundles of earlier pack versions


class BundleInfo(_Optional):
    schema: int
    name: str
    version: str
    target: str
    python: PythonInfo
    lock: LockInfo | None
    entry_points: list[EntryPointInfo]
    self_command: str | None
    env: dict[str, str]
    prepend_path: list[str]
    isolated: bool
    strip: list[str]
    allow_unhashed: bool
    pack_version: str
    build: BuildInfo


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "version": str,
    "target": str,
    "python": dict,
    "entry_points": list,
    "env": dict,
    "pack_version": str,
    "build": dict,
}


_OPTIONAL: dict[str, type] = {"update_signers": list, "update_url": str}


def parse_bundle_info(data: bytes, source: str = BUNDLE_JSON) -> BundleInfo:
    """Parse the bytes of a `bundle.json`; errors name `source`."""
    try:
        obj: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleInfoError(f"{source}: not valid JSON ({exc}){_DAMAGED}") from None
    if not isinstance(obj, dict):
        raise BundleInfoError(f"{source}: not a JSON object{_DAMAGED}")
    schema = obj.get("schema")
    if schema != SCHEMA_VERSION:
        raise BundleInfoError(
            f"{source}: schema {schema!r} is not {SCHEMA_VERSION}, the only one this "
            "code reads; use the pack version that built the bundle"
        )
    for key, kind in _REQUIRED.items():
        if not isinstance(obj.get(key), kind):
            raise BundleInfoError(f"{source}: {key!r} is missing or of the wrong type{_DAMAGED}")
    for key, kind in _OPTIONAL.items():
        value = obj.get(key)
        if value is not None and not isinstance(value, kind):
            raise BundleInfoError(f"{source}: {key!r} is of the wrong type{_DAMAGED}")
    signers = obj.get("update_signers") or []
    if not all(isinstance(line, str) for line in signers):
        raise BundleInfoError(f"{source}: 'update_signers' holds a non-string{_DAMAGED}")
    for key in PATH_FIELDS:
        why = path_component_problem(obj[key])
        if why:
            raise BundleInfoError(f"{source}: {key} {obj[key]!r} {why}{_DAMAGED}")
    return cast(BundleInfo, obj)


# Fields that become part of a path (`self update` names directories after them).
PATH_FIELDS = ("name", "version", "target")


def path_component_problem(value: str) -> str:
    """Why `value` cannot be used as one file name in a directory, or "" when it can."""
    if value in ("", ".", ".."):
        return "is not a file name"
    if "/" in value or "\\" in value:
        return "has a path separator"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "has a control character"
    if len(value.encode("utf-8", "surrogatepass")) > 200:
        return "is too long"
    return ""


def read_bundle_info(root: Path) -> BundleInfo:
    """Read `root/.pack/bundle.json`, `root` being the bundle's top folder."""
    path = Path(root) / BUNDLE_JSON
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleInfoError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_bundle_info(data, str(path))
