"""What the project declares in `[project]` and `[dependency-groups]` (dependencies for the chosen
extras and groups, requires-python) and the checks of a lock plan against it, made while
planning so that a lock that does not fit the project fails before anything slow. Every check
takes the target's marker environment as a parameter."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dependency_groups import CyclicDependencyError, resolve
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import ConfigError, LockError
from .locks import LockPlan
from .requires_python import excluded


@dataclass(frozen=True)
class Declared:
    """A requirement the project declares, and where (`dependencies`, `optional-dependencies.x`,
    `dependency-groups.y`)."""

    requirement: Requirement
    where: str
    extra: str  # the extra whose marker it is evaluated under ("" outside extras)


@dataclass(frozen=True)
class ProjectMetadata:
    pyproject: Path
    name: NormalizedName | None
    requires_python: SpecifierSet | None
    dependencies: tuple[Declared, ...]
    dynamic_dependencies: bool  # `dependencies` in [project] dynamic: known only after a build


def _requirement(text: object, pyproject: Path, where: str) -> Requirement:
    if not isinstance(text, str):
        raise ConfigError(f"{pyproject}: {where}: {text!r} is not a requirement string")
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ConfigError(
            f"{pyproject}: {where}: {text!r} is not a valid requirement: {exc}"
        ) from exc


def read_project(
    pyproject: Path, data: Mapping[str, Any], extras: Sequence[str], groups: Sequence[str]
) -> ProjectMetadata:
    """The project's requirements for `extras` and `groups` (names already checked to exist),
    from the parsed `pyproject.toml` `data`."""
    project = data.get("project") or {}
    if not isinstance(project, dict):
        project = {}
    spec = project.get("requires-python")
    requires_python = None
    if spec is not None:
        try:
            requires_python = SpecifierSet(str(spec))
        except InvalidSpecifier as exc:
            raise ConfigError(
                f"{pyproject}: [project] requires-python {spec!r} is not a version specifier: {exc}"
            ) from exc
    declared: list[Declared] = []
    for text in project.get("dependencies") or []:
        declared.append(
            Declared(_requirement(text, pyproject, "[project] dependencies"), "dependencies", "")
        )
    optional = project.get("optional-dependencies") or {}
    for extra in extras:
        key = next((k for k in optional if canonicalize_name(k) == canonicalize_name(extra)), None)
        for text in optional.get(key, []) if key else []:
            where = f"optional-dependencies.{key}"
            declared.append(
                Declared(_requirement(text, pyproject, f"[project.{where}]"), where, str(key))
            )
    table = data.get("dependency-groups") or {}
    for group in groups:
        try:
            texts = resolve(table, group)
        except (CyclicDependencyError, LookupError, ValueError, TypeError) as exc:
            raise ConfigError(f"{pyproject}: [dependency-groups] {group}: {exc}") from exc
        for text in texts:
            where = f"dependency-groups.{group}"
            declared.append(Declared(_requirement(text, pyproject, f"[{where}]"), where, ""))
    name = project.get("name")
    return ProjectMetadata(
        pyproject=pyproject,
        name=canonicalize_name(name) if isinstance(name, str) else None,
        requires_python=requires_python,
        dependencies=tuple(declared),
        dynamic_dependencies="dependencies" in (project.get("dynamic") or []),
    )


def load_project(pyproject: Path, extras: Sequence[str], groups: Sequence[str]) -> ProjectMetadata:
    try:
        with open(pyproject, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read it: {exc}") from exc
    return read_project(pyproject, data, extras, groups)


def check_requires_python(meta: ProjectMetadata, python: str) -> None:
    """The project's own requires-python must accept the bundle's interpreter."""
    message = excluded(meta.requires_python, python, f"{meta.pyproject}: [project] requires-python")
    if message:
        raise ConfigError(message)


def check_plan(meta: ProjectMetadata, plan: LockPlan, environment: Mapping[str, str]) -> list[str]:
    """The project's requirements (for the target `environment`) that the plan does not
    satisfy: `six (dependencies) is not in the lock`, `click>=8 (dependencies): the lock
    has 7.1`. Empty when the lock covers the project."""
    locked: dict[str, str | None] = {canonicalize_name(a.name): a.version for a in plan.artifacts}
    for d in plan.directories:
        locked.setdefault(canonicalize_name(d.name), None)
    problems: list[str] = []
    for item in meta.dependencies:
        req = item.requirement
        env = {**environment, "extra": item.extra}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name == meta.name:
            continue  # the project asking for its own extras
        if name not in locked:
            problems.append(f"{req} ({item.where}) is not in the lock")
            continue
        version = locked[name]
        if version is None or not req.specifier:
            continue
        try:
            ok = req.specifier.contains(Version(version), prereleases=True)
        except InvalidVersion:
            continue
        if not ok:
            problems.append(f"{req} ({item.where}): the lock has {req.name} {version}")
    return problems


def check_lock_covers_project(
    meta: ProjectMetadata, plan: LockPlan, environment: Mapping[str, str]
) -> None:
    problems = check_plan(meta, plan, environment)
    if problems:
        lock = plan.source.path
        regenerate = {
            "uv.lock": "run `uv lock`",
            "pylock": "regenerate it (`uv export --format pylock.toml -o pylock.toml`, or "
            "`pip lock -e . -o pylock.toml`)",
            "requirements": "regenerate it (`uv pip compile pyproject.toml --generate-hashes "
            f"-o {lock.name}`)",
        }[plan.source.format]
        raise LockError(
            f"{lock} does not satisfy {meta.pyproject}: {'; '.join(problems)}; {regenerate}"
        )
