"""`.pack/bundle.json`: what a bundle is (name, version, target, interpreter build, lock digest,
entry points, environment) and how it was built, as a frozen dataclass with a stable JSON
form. The schema is documented in docs/bundle-format.md; bundles read it with
pack_runtime.bundleinfo, which owns the schema version."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pack_runtime.bundleinfo import SCHEMA_VERSION as SCHEMA_VERSION
from pack_runtime.bundleinfo import BundleInfoError, parse_bundle_info

from . import __version__
from .errors import ChecksumError

_T = TypeVar("_T")


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
    def from_json(cls, data: bytes, source: str = ".pack/bundle.json") -> BundleManifest:
        """Parse and check a bundle.json; errors name `source` and the field."""
        try:
            obj: dict[str, Any] = dict(parse_bundle_info(data, source))
        except BundleInfoError as exc:
            raise ChecksumError(str(exc)) from None
        get = _Getter(source)
        py = get.table(obj, "python")
        lock = None if obj.get("lock") is None else get.table(obj, "lock")
        build = get.table(obj, "build")
        return cls(
            name=get.text(obj, "name"),
            version=get.text(obj, "version"),
            target=get.text(obj, "target"),
            python=PythonBuild(
                version=get.text(py, "version", "python."),
                implementation=get.text(py, "implementation", "python."),
                asset=get.text(py, "asset", "python."),
                sha256=get.text(py, "sha256", "python."),
                tag=get.text(py, "tag", "python."),
                flavor=get.text(py, "flavor", "python."),
                freethreaded=get.flag(py, "freethreaded", "python."),
            ),
            lock=None
            if lock is None
            else LockRef(
                path=get.text(lock, "path", "lock."),
                format=get.text(lock, "format", "lock."),
                sha256=get.text(lock, "sha256", "lock."),
            ),
            entry_points=tuple(
                EntryPoint(
                    name=get.text(ep, "name", f"entry_points[{i}]."),
                    module=get.text(ep, "module", f"entry_points[{i}]."),
                    attr=get.opt_text(ep, "attr", f"entry_points[{i}]."),
                    distribution=get.text(ep, "distribution", f"entry_points[{i}]."),
                    executable=get.opt_text(ep, "executable", f"entry_points[{i}]."),
                )
                for i, ep in enumerate(get.list_of(obj, "entry_points", dict))
            ),
            build=BuildInfo(
                source_date_epoch=get.integer(build, "source_date_epoch", "build."),
                time=get.text(build, "time", "build."),
            ),
            self_command=get.opt_text(obj, "self_command"),
            env=get.str_map(obj, "env"),
            prepend_path=tuple(get.list_of(obj, "prepend_path", str)),
            isolated=get.flag(obj, "isolated"),
            strip=tuple(get.list_of(obj, "strip", str)),
            allow_unhashed=get.flag(obj, "allow_unhashed"),
            local_packages=tuple(
                LocalPackage(
                    name=get.text(lp, "name", f"local_packages[{i}]."),
                    version=get.text(lp, "version", f"local_packages[{i}]."),
                    path=get.text(lp, "path", f"local_packages[{i}]."),
                    sha256=get.text(lp, "sha256", f"local_packages[{i}]."),
                )
                for i, lp in enumerate(
                    get.list_of(obj, "local_packages", dict) if "local_packages" in obj else []
                )
            ),
            smoke_test=get.opt_text(obj, "smoke_test"),
            update_signers=tuple(get.list_of(obj, "update_signers", str))
            if obj.get("update_signers") is not None
            else (),
            update_url=get.opt_text(obj, "update_url"),
            pack_version=get.text(obj, "pack_version"),
        )


class _Getter:
    """Typed access to untrusted JSON whose errors name the exact field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def _typed(self, obj: dict[str, Any], key: str, kind: type[_T], what: str, at: str) -> _T:
        value = obj.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ChecksumError(
                f"{self.source}: {at}{key} must be {what}, not {value!r}; "
                "the bundle is damaged or was not built by pack"
            )
        return value

    def text(self, obj: dict[str, Any], key: str, at: str = "") -> str:
        return self._typed(obj, key, str, "a string", at)

    def opt_text(self, obj: dict[str, Any], key: str, at: str = "") -> str | None:
        return None if obj.get(key) is None else self.text(obj, key, at)

    def integer(self, obj: dict[str, Any], key: str, at: str = "") -> int:
        return self._typed(obj, key, int, "an integer", at)

    def flag(self, obj: dict[str, Any], key: str, at: str = "") -> bool:
        return self._typed(obj, key, bool, "true or false", at)

    def table(self, obj: dict[str, Any], key: str, at: str = "") -> dict[str, Any]:
        return self._typed(obj, key, dict, "an object", at)

    def list_of(self, obj: dict[str, Any], key: str, kind: type[_T], at: str = "") -> list[_T]:
        items = self._typed(obj, key, list, "a list", at)
        for i, item in enumerate(items):
            if not isinstance(item, kind):
                raise ChecksumError(
                    f"{self.source}: {at}{key}[{i}] must be {kind.__name__}, not {item!r}; "
                    "the bundle is damaged or was not built by pack"
                )
        return items

    def str_map(self, obj: dict[str, Any], key: str, at: str = "") -> dict[str, str]:
        mapping = self.table(obj, key, at)
        for k, v in mapping.items():
            if not isinstance(v, str):
                raise ChecksumError(
                    f"{self.source}: {at}{key}.{k} must be a string, not {v!r}; "
                    "the bundle is damaged or was not built by pack"
                )
        return mapping
