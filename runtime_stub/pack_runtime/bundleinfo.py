"""The `.pack/bundle.json` schema, declared once (FIELDS; BundleInfo is its static view), and
reading the file inside a running bundle: a plain dict typed as BundleInfo, after checking
the schema version and what the stub uses. Standard library only; pack writes and reads the
file with packager.manifest, which checks every field here (check_fields); docs/bundle-format.md
describes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple, TypedDict, cast

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


class Field(NamedTuple):
    """One key of bundle.json. `kind`: "str", "int", "bool", "object" (with `fields`), "list"
    (of objects with `fields`, else of strings) or "str-map". `absent`: "" when the key is
    required, "ok" when it may be missing (keys older packs did not write), "or-null" when it
    may also be null."""

    kind: str
    fields: dict[str, Field] | None = None
    absent: str = ""


PYTHON_FIELDS = {
    "version": Field("str"),
    "implementation": Field("str"),
    "asset": Field("str"),
    "sha256": Field("str"),
    "tag": Field("str"),
    "flavor": Field("str"),
    "freethreaded": Field("bool"),
}
LOCK_FIELDS = {"path": Field("str"), "format": Field("str"), "sha256": Field("str")}
ENTRY_POINT_FIELDS = {
    "name": Field("str"),
    "module": Field("str"),
    "attr": Field("str", absent="or-null"),
    "distribution": Field("str"),
    "executable": Field("str", absent="or-null"),
}
LOCAL_PACKAGE_FIELDS = {
    "name": Field("str"),
    "version": Field("str"),
    "path": Field("str"),
    "sha256": Field("str"),
}
BUILD_FIELDS = {"source_date_epoch": Field("int"), "time": Field("str")}

# Every key but `schema` (checked first, by parse_bundle_info), in the order pack checks them.
FIELDS = {
    "name": Field("str"),
    "version": Field("str"),
    "target": Field("str"),
    "python": Field("object", PYTHON_FIELDS),
    "lock": Field("object", LOCK_FIELDS, absent="or-null"),
    "entry_points": Field("list", ENTRY_POINT_FIELDS),
    "build": Field("object", BUILD_FIELDS),
    "self_command": Field("str", absent="or-null"),
    "env": Field("str-map"),
    "prepend_path": Field("list"),
    "isolated": Field("bool"),
    "strip": Field("list"),
    "allow_unhashed": Field("bool"),
    "local_packages": Field("list", LOCAL_PACKAGE_FIELDS, absent="ok"),
    "smoke_test": Field("str", absent="or-null"),
    "update_signers": Field("list", absent="or-null"),
    "update_url": Field("str", absent="or-null"),
    "pack_version": Field("str"),
}

# What the stub itself reads, checked at every read; pack checks every field (check_fields).
_STUB_REQUIRED = (
    "name",
    "version",
    "target",
    "python",
    "entry_points",
    "env",
    "pack_version",
    "build",
)
_STUB_OPTIONAL = ("update_signers", "update_url")
_TYPES: dict[str, type] = {
    "str": str,
    "int": int,
    "bool": bool,
    "object": dict,
    "list": list,
    "str-map": dict,
}
_WHAT = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "object": "an object",
    "list": "a list",
    "str-map": "an object",
}


def check_fields(obj: dict[str, Any], source: str, fields: dict[str, Field] = FIELDS) -> None:
    """Check every field of a parsed bundle.json against the schema; errors name the exact
    field (`python.sha256`, `entry_points[0].module`)."""
    _check(obj, source, fields, "")


def _check(obj: dict[str, Any], source: str, fields: dict[str, Field], at: str) -> None:
    for key, spec in fields.items():
        if spec.absent and key not in obj:
            continue
        value: Any = obj.get(key)
        if value is None and spec.absent == "or-null":
            continue
        if not _is(value, _TYPES[spec.kind]):
            raise BundleInfoError(
                f"{source}: {at}{key} must be {_WHAT[spec.kind]}, not {value!r}{_DAMAGED}"
            )
        if spec.kind == "object" and spec.fields is not None:
            _check(value, source, spec.fields, f"{at}{key}.")
        elif spec.kind == "list":
            item_kind: type = dict if spec.fields is not None else str
            for i, item in enumerate(value):
                if not _is(item, item_kind):
                    raise BundleInfoError(
                        f"{source}: {at}{key}[{i}] must be {item_kind.__name__}, "
                        f"not {item!r}{_DAMAGED}"
                    )
                if spec.fields is not None:
                    _check(item, source, spec.fields, f"{at}{key}[{i}].")
        elif spec.kind == "str-map":
            for k, v in value.items():
                if not isinstance(v, str):
                    raise BundleInfoError(
                        f"{source}: {at}{key}.{k} must be a string, not {v!r}{_DAMAGED}"
                    )


def _is(value: Any, kind: type) -> bool:
    # Without narrowing `value` (it stays Any for the checks that follow); JSON has no int
    # that is a bool.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


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
    for key in _STUB_REQUIRED:
        if not isinstance(obj.get(key), _TYPES[FIELDS[key].kind]):
            raise BundleInfoError(f"{source}: {key!r} is missing or of the wrong type{_DAMAGED}")
    for key in _STUB_OPTIONAL:
        value: Any = obj.get(key)
        if value is not None and not isinstance(value, _TYPES[FIELDS[key].kind]):
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
