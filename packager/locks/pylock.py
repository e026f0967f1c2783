"""`pylock.toml` (PEP 751), read with packaging.pylock: validated, then the artifact of every
package the target needs selected, each with its sha256. uv.lock reaches here exported."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockSelectError,
    PylockUnsupportedVersionError,
    PylockValidationError,
)
from packaging.tags import Tag
from packaging.utils import canonicalize_name

from ..errors import ConfigError, LockError
from ..requires_python import excluded
from .model import (
    Artifact,
    ArtifactKind,
    LocalDirectory,
    LockPlan,
    LockRequest,
    LockSource,
    PylockCheck,
    check_directory,
)


def check_known(
    kind: str, asked: Sequence[str], known: Sequence[str], where: str, key: str
) -> None:
    """Raise for the first of `asked` not in `known` (names compared normalized, as extras
    and dependency groups are)."""
    normalized = {canonicalize_name(k) for k in known}
    for name in asked:
        if canonicalize_name(name) not in normalized:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(
                f"{where}: {kind} {name!r}{hint} is not in {key}; known: "
                + (", ".join(known) or "none")
            )


def load_pylock_data(source: LockSource) -> dict[str, Any]:
    try:
        with open(source.path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{source.path} is not valid TOML: {exc}") from exc


def parse_pylock(data: dict[str, Any], where: Path) -> Pylock:
    try:
        return Pylock.from_dict(data)
    except PylockUnsupportedVersionError as exc:
        raise LockError(f"{where}: {exc}; pack reads lock-version 1.x") from exc
    except PylockValidationError as exc:
        raise LockError(
            f"{where}: invalid lock{_package_named(data, str(exc))}: {exc}; regenerate it "
            "(uv lock, or uv export --format pylock.toml)"
        ) from exc


def _package_named(data: dict[str, Any], message: str) -> str:
    """ " (package NAME)" for an error about 'packages[N]...', to say which package is wrong."""
    m = re.search(r"packages\[(\d+)\]", message)
    packages = data.get("packages")
    if m and isinstance(packages, list) and int(m[1]) < len(packages):
        name = packages[int(m[1])].get("name") if isinstance(packages[int(m[1])], dict) else None
        if isinstance(name, str):
            return f" (package {name})"
    return ""


def _sha256(hashes: object, where: str) -> str:
    if isinstance(hashes, dict):
        value = hashes.get("sha256")
        if isinstance(value, str) and value:
            return value.lower()
    raise LockError(
        f"{where} has no sha256 hash; pack installs only hashed artifacts: regenerate the lock "
        "with hashes (uv lock / uv export --format pylock.toml)"
    )


def _filename(url: str | None, path: str | None, name: str | None) -> str:
    if name:
        return name
    ref = url or path or ""
    return unquote(urlparse(ref).path.rsplit("/", 1)[-1]) if url else Path(ref).name


def plan_from_pylock(
    pylock: Pylock,
    source: LockSource,
    *,
    environment: dict[str, str],
    tags: Sequence[Tag],
    extras: Sequence[str] = (),
    groups: Sequence[str] | None = None,
    where: Path | None = None,
    project_dir: Path | None = None,
    check: PylockCheck | None = None,
) -> LockPlan:
    """Select, for one target's environment and tags, the artifact of every package the lock
    needs there, with its sha256. `check` sees the lock first (the target's wheel policy).
    A `directory` package at `project_dir` is the project itself (built and installed
    anyway) and is left out; any other is planned as a local directory to build. The lock's
    and each package's requires-python must accept the target's interpreter
    (`python_full_version` of `environment`)."""
    where = where or source.path
    base = source.path.parent
    python = environment.get("python_full_version", "")
    message = excluded(pylock.requires_python, python, f"{where}: requires-python")
    if message:
        raise LockError(message)
    project = project_dir.resolve() if project_dir is not None else None
    if check is not None:
        check(pylock, extras, groups)
    try:
        selected = list(
            pylock.select(
                environment=environment,  # type: ignore[arg-type]
                tags=tags,
                extras=extras,
                dependency_groups=groups,
            )
        )
    except PylockSelectError as exc:
        # packaging names the package; say which Python would do, as for the project.
        lock_env: dict[str, Any] = {
            **environment,
            "extras": set(extras),
            "dependency_groups": set(groups or ()),
        }
        for n, package in enumerate(pylock.packages):
            applies = package.marker is None or package.marker.evaluate(lock_env, "lock_file")
            label = f"{where}: packages[{n}] ({package.name}) requires-python"
            message = excluded(package.requires_python, python, label) if applies else None
            if message:
                raise LockError(message) from exc
        raise LockError(f"{where}: cannot select packages for the target: {exc}") from exc

    index = {id(p): i for i, p in enumerate(pylock.packages)}
    artifacts: list[Artifact] = []
    directories: list[LocalDirectory] = []
    project_listed = False
    for package, dist in selected:
        i = index.get(id(package), "?")
        label = f"{where}: packages[{i}] ({package.name})"
        version = str(package.version) if package.version is not None else None
        if isinstance(dist, PackageVcs):
            raise LockError(
                f"{label} is a vcs source ({dist.url or dist.path}), which has no hash to "
                "verify; depend on a released version, or build it into a wheel and list the "
                "wheel in [tool.pack] local-extra-deps"
            )
        if isinstance(dist, PackageDirectory):
            path = (base / dist.path).resolve()  # an absolute dist.path stays itself
            if path == project:
                project_listed = True
            else:
                check_directory(dist.path, path, label)
                directories.append(LocalDirectory(str(package.name), path, bool(dist.editable)))
            continue
        if isinstance(dist, PackageWheel):
            j = package.wheels.index(dist) if package.wheels else "?"
            sha = _sha256(dist.hashes, f"{label} wheels[{j}]")
            kind_: ArtifactKind = "wheel"
        elif isinstance(dist, PackageSdist):
            sha = _sha256(dist.hashes, f"{label} sdist")
            kind_ = "sdist"
        else:
            assert isinstance(dist, PackageArchive)
            sha = _sha256(dist.hashes, f"{label} archive")
            kind_ = "archive"
        name = getattr(dist, "name", None)
        filename = _filename(dist.url, dist.path, name)
        local = None
        if dist.path is not None:
            local = Path(dist.path)
            local = local if local.is_absolute() else (base / local)
        if dist.url is None and local is None:
            raise LockError(f"{label} has neither url nor path; the lock cannot be installed")
        artifacts.append(
            Artifact(
                name=str(package.name),
                version=version,
                kind=kind_,
                filename=filename,
                url=dist.url,
                path=local,
                sha256=sha,
            )
        )
    return LockPlan.of(source, artifacts, directories, project_listed)


def plan_pylock_file(source: LockSource, request: LockRequest) -> LockPlan:
    """Read the pylock.toml of `source`, check the extras and groups asked for against it and
    plan it for one target."""
    pylock = parse_pylock(load_pylock_data(source), source.path)
    extras = [canonicalize_name(e) for e in request.extras]
    groups = request.groups
    check_known(
        "extra",
        extras,
        [str(e) for e in pylock.extras or []],
        str(source.path),
        "the lock's extras",
    )
    check_known(
        "group",
        groups,
        [str(g) for g in pylock.dependency_groups or []],
        str(source.path),
        "the lock's dependency-groups",
    )
    return plan_from_pylock(
        pylock,
        source,
        environment=request.environment,
        tags=request.tags,
        extras=extras,
        groups=list(groups) if groups else None,
        project_dir=request.project_dir,
        check=request.check,
    )
