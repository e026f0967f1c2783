"""`.pack/bundle.json`: what a bundle is (name, version, target, interpreter build, lock digest,
entry points, environment) and how it was built, as a frozen dataclass with a stable JSON
form. The schema (keys, types, which may be absent, the version) is declared once in
pack_runtime.bundleinfo, which bundles read it with; docs/bundle-format.md documents it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pack_runtime.bundleinfo import SCHEMA_VERSION as SCHEMA_VERSION
from pack_runtime.bundleinfo import BundleInfoError, check_fields, parse_bundle_info
from pack_runtime.layout import BUNDLE_JSON

from . import __version__
from .errors import ChecksumError


@dataclass(frozen=True)
class PythonBuild:
    """The python-build-standalone asset the runtime was unpacked from."""

    version: str
    implementation: str
    asset: str
    sha256: str
    tag: str
    flavor: str
    freethreaded: bool = False


@dataclass(frozen=True)
class LockRef:
    """The lockfile the venv was installed from: its path relative to the project, its
    format ("pylock", "uv", "requirements") and the sha256 of its bytes."""

    path: str
    format: str
    sha256: str


@dataclass(frozen=True)
class EntryPoint:
    """A command the bundle exposes as `bin/<name>`: `module:attr`, or `python -m module`
    when `attr` is None, or, with `executable` (`venv/bin/ruff`), a program a wheel installs
    that the launcher runs directly (`module` is then "")."""

    name: str
    module: str
    attr: str | None
    distribution: str
    executable: str | None = None


@dataclass(frozen=True)
class LocalPackage:
    """A `directory` package of the lock (a path dependency, a workspace member) that pack
    built into a wheel: its path relative to the project and the built wheel's sha256."""

    name: str
    version: str
    path: str
    sha256: str


@dataclass(frozen=True)
class BuildInfo:
    source_date_epoch: int
    time: str

    @classmethod
    def from_epoch(cls, epoch: int) -> BuildInfo:
        """The build time is the reproducible timestamp, never the clock."""
        return cls(epoch, datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


@dataclass(frozen=True)
class BundleManifest:
    name: str
    version: str
    target: str
    python: PythonBuild
    lock: LockRef | None
    entry_points: tuple[EntryPoint, ...]
    build: BuildInfo
    self_command: str | None = "self"
    env: dict[str, str] = field(default_factory=dict)
    prepend_path: tuple[str, ...] = ()
    isolated: bool = True
    strip: tuple[str, ...] = ()
    allow_unhashed: bool = False
    local_packages: tuple[LocalPackage, ...] = ()
    smoke_test: str | None = None  # "passed", or "skipped: <why>"
    update_signers: tuple[str, ...] = ()  # allowed_signers lines of `update-signers`
    update_url: str | None = None
    pack_version: str = __version__
    schema: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        """Indented, keys sorted, UTF-8, newline-terminated: the same manifest always gives
        the same bytes."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, source: str = BUNDLE_JSON) -> BundleManifest:
        """Parse and check a bundle.json against the schema pack_runtime.bundleinfo declares;
        errors name `source` and the field."""
        try:
            info = parse_bundle_info(data, source)
            obj: dict[str, Any] = dict(info)
            check_fields(obj, source)
        except BundleInfoError as exc:
            raise ChecksumError(str(exc)) from None
        py, lock, build = obj["python"], obj.get("lock"), obj["build"]
        return cls(
            name=obj["name"],
            version=obj["version"],
            target=obj["target"],
            python=PythonBuild(
                version=py["version"],
                implementation=py["implementation"],
                asset=py["asset"],
                sha256=py["sha256"],
                tag=py["tag"],
                flavor=py["flavor"],
                freethreaded=py["freethreaded"],
            ),
            lock=None
            if lock is None
            else LockRef(path=lock["path"], format=lock["format"], sha256=lock["sha256"]),
            entry_points=tuple(
                EntryPoint(
                    name=ep["name"],
                    module=ep["module"],
                    attr=ep.get("attr"),
                    distribution=ep["distribution"],
                    executable=ep.get("executable"),
                )
                for ep in obj["entry_points"]
            ),
            build=BuildInfo(build["source_date_epoch"], build["time"]),
            self_command=obj.get("self_command"),
            env=obj["env"],
            prepend_path=tuple(obj["prepend_path"]),
            isolated=obj["isolated"],
            strip=tuple(obj["strip"]),
            allow_unhashed=obj["allow_unhashed"],
            local_packages=tuple(
                LocalPackage(
                    name=lp["name"], version=lp["version"], path=lp["path"], sha256=lp["sha256"]
                )
                for lp in obj.get("local_packages", [])
            ),
            smoke_test=obj.get("smoke_test"),
            update_signers=tuple(obj.get("update_signers") or ()),
            update_url=obj.get("update_url"),
            pack_version=obj["pack_version"],
        )
