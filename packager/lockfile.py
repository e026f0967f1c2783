"""Lockfiles in, one plan out: `pylock.toml` (PEP 751, read with packaging.pylock), `uv.lock`
(exported to pylock by uv) and hashed `requirements.txt` become the exact list of artifacts, each
with its sha256, that a target needs. No resolution happens here: the lock is the whole closure."""

from __future__ import annotations

import difflib
import hashlib
import re
import shlex
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
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

from ._proc import explain, run
from .errors import ConfigError, LockError
from .requires_python import excluded
from .uvtool import uv_env

if TYPE_CHECKING:
    from .context import Context

# Called with a parsed lock, its extras and groups before selection; raises to refuse it.
PylockCheck = Callable[[Pylock, Sequence[str], Sequence[str] | None], None]
LockFormat = Literal["pylock", "uv.lock", "requirements"]
ArtifactKind = Literal["wheel", "sdist", "archive"]


@dataclass(frozen=True)
class LockSource:
    path: Path
    format: LockFormat
    sha256: str  # of the lock file as written by the user
    # Other lock files the project has that discovery passed over (to say so in the output).
    ignored: tuple[Path, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Artifact:
    """One file to install, fully pinned."""

    name: str
    version: str | None
    kind: ArtifactKind
    filename: str
    url: str | None  # where to fetch it, when not a local path
    path: Path | None  # a local file named by the lock (absolute)
    sha256: str


@dataclass(frozen=True)
class LocalDirectory:
    """A `directory` package of the lock other than the project (a path dependency, a uv
    workspace member): built into a wheel and installed with the project's."""

    name: str
    path: Path  # absolute, resolved
    editable: bool  # as the lock says; pack always builds a regular wheel


@dataclass(frozen=True)
class LockPlan:
    source: LockSource
    artifacts: tuple[Artifact, ...]
    directories: tuple[LocalDirectory, ...] = ()
    project_listed: bool = False  # the lock lists the project itself (left out: built anyway)

    @property
    def digest(self) -> str:
        """A digest of exactly what gets installed (not of the lock's formatting)."""
        h = hashlib.sha256()
        for a in sorted(self.artifacts, key=lambda a: a.name):
            h.update(f"{a.name}\0{a.filename}\0{a.sha256}\n".encode())
        return h.hexdigest()


def find_lock(project_dir: Path, configured: Path | None) -> LockSource:
    """The lock named in config, or the one found in the project (pylock.toml, then uv.lock)."""
    if configured is not None:
        if not configured.is_file():
            raise LockError(
                f"lock file {configured} (from [tool.pack] lock) does not exist; create it "
                "(uv lock, or uv export --format pylock.toml -o pylock.toml) or fix the path"
            )
        return _source(configured)
    candidates = [project_dir / "pylock.toml", *sorted(project_dir.glob("pylock.*.toml"))]
    candidates += [project_dir / "uv.lock", project_dir / "requirements.txt"]
    found = [c for c in candidates if c.is_file()]
    if found:
        chosen = _source(found[0])
        return LockSource(chosen.path, chosen.format, chosen.sha256, tuple(found[1:]))
    raise LockError(
        f"no lock file in {project_dir} (looked for pylock.toml, pylock.*.toml, uv.lock, "
        "requirements.txt); create one with `uv lock` or set [tool.pack] lock"
    )


def _source(path: Path) -> LockSource:
    name = path.name
    if name == "uv.lock":
        fmt: LockFormat = "uv.lock"
    elif name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml")):
        fmt = "pylock"
    elif name.endswith(".txt"):
        fmt = "requirements"
    else:
        raise LockError(
            f"{path}: unrecognised lock file name; use pylock.toml, pylock.<name>.toml, uv.lock "
            "or a hashed requirements .txt file"
        )
    return LockSource(
        path=path.absolute(), format=fmt, sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )


def export_uv_lock(
    source: LockSource,
    uv: Path,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    offline: bool = False,
    env: Mapping[str, str] | None = None,
    find_links: Sequence[Path] = (),
) -> dict[str, Any]:
    """Export uv.lock to pylock form with uv: the project itself left out, only the groups
    asked for (not uv's default `dev`), nothing editable. uv itself checks that the lock is
    up to date with pyproject.toml (`--locked`: a quick comparison, no resolution when it is);
    `directory` paths come back absolute."""
    _check_selection(source.path.parent / "pyproject.toml", extras, groups)
    with tempfile.TemporaryDirectory(prefix="pack-export-") as tmp:
        out = Path(tmp) / "pylock.toml"
        argv: list[str | Path] = [
            uv,
            "export",
            "--format",
            "pylock.toml",
            "--locked",
            "--no-emit-project",
            "--no-default-groups",
            "--no-editable",
            "--no-header",
            "--quiet",
            "-o",
            out,
        ]
        for extra in extras:
            argv += ["--extra", extra]
        for group in groups:
            argv += ["--group", group]
        if offline:
            argv.append("--offline")
        # Checking the lock may build the project's metadata (a dynamic version): offline,
        # its build backend comes from the wheelhouse.
        for directory in find_links:
            argv += ["--find-links", directory]
        proc = run(
            argv,
            what=f"exporting {source.path} with uv",
            cwd=source.path.parent,
            env=env,
            error=LockError,
            check_exit=False,
        )
        if proc.returncode != 0:
            output = proc.stderr.decode(errors="replace")
            details = f"$ {shlex.join(str(a) for a in argv)}\n{output}"
            pyproject = source.path.parent / "pyproject.toml"
            stale = "needs to be updated" in output
            if stale or (offline and "network was disabled" in output):
                raise LockError(
                    f"{source.path} is out of date with {pyproject} (uv says: "
                    f"{explain(output)}); run `uv lock` and commit the result",
                    details=details,
                )
            raise LockError(
                f"exporting {source.path} with uv failed: {explain(output)}", details=details
            )
        with open(out, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
        for package in data.get("packages", []):
            local = package.get("directory") if isinstance(package, dict) else None
            if isinstance(local, dict) and isinstance(local.get("path"), str):
                local["path"] = str((Path(tmp) / local["path"]).resolve())
        return data


def _unknown(kind: str, asked: Sequence[str], known: Sequence[str], where: str, key: str) -> None:
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


def _check_selection(pyproject: Path, extras: Sequence[str], groups: Sequence[str]) -> None:
    """Extras and groups asked for must exist in the project (uv would fail less clearly)."""
    if not extras and not groups:
        return
    try:
        with open(pyproject, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{pyproject}: cannot read it to check extras and groups: {exc}") from exc
    project = data.get("project", {})
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    declared_groups = data.get("dependency-groups", {})
    _unknown(
        "extra", extras, sorted(optional or {}), str(pyproject), "[project.optional-dependencies]"
    )
    _unknown("group", groups, sorted(declared_groups or {}), str(pyproject), "[dependency-groups]")


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
    return LockPlan(
        source=source,
        artifacts=tuple(sorted(artifacts, key=lambda a: a.name)),
        directories=tuple(sorted(directories, key=lambda d: d.name)),
        project_listed=project_listed,
    )


def check_directory(path: str, resolved: Path, label: str) -> None:
    """A lock's `directory` package must be a project (a folder with pyproject.toml or
    setup.py): pack builds it."""
    if not resolved.is_dir():
        raise LockError(
            f"{label}: directory {path} ({resolved}) does not exist; restore it or regenerate "
            "the lock"
        )
    if not (resolved / "pyproject.toml").is_file() and not (resolved / "setup.py").is_file():
        raise LockError(
            f"{label}: directory {path} ({resolved}) has no pyproject.toml or setup.py, so it "
            "cannot be built; point the lock at a project"
        )


def plan_lock(
    source: LockSource,
    *,
    uv: Path,
    environment: Mapping[str, str],
    tags: Sequence[Tag],
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    ctx: Context | None = None,
    find_links: Sequence[Path] = (),
    allow_unhashed: bool = False,
    project_dir: Path | None = None,
    check: PylockCheck | None = None,
) -> LockPlan:
    """Read `source` (any supported format) and plan it for one target. A requirements file
    needs `ctx`: its pins are matched to files through the index, the cache or `find_links`."""
    environment = dict(environment)
    if source.format == "requirements":
        from . import requirements as req_mod

        if extras or groups:
            raise ConfigError(
                f"{source.path}: extras and groups ({', '.join([*extras, *groups])}) select "
                "from a uv.lock or pylock.toml; a requirements file is already the whole "
                "closure: drop --extra/--group or lock with uv"
            )
        if ctx is None:
            raise LockError(f"{source.path}: planning a requirements file needs a context")
        rf = req_mod.parse_requirements(source.path, allow_unhashed=allow_unhashed)
        return req_mod.plan_requirements(
            rf,
            source,
            environment=environment,
            tags=tags,
            files_for=req_mod.lookup_files(ctx, rf, find_links),
            offline=ctx.offline,
            project_dir=project_dir,
        )
    if source.format == "uv.lock":
        data = export_uv_lock(
            source,
            uv,
            extras=extras,
            groups=groups,
            offline=ctx.offline if ctx else False,
            env=uv_env(ctx) if ctx else None,
            find_links=find_links,
        )
        pylock = parse_pylock(data, source.path)
        return plan_from_pylock(
            pylock,
            source,
            environment=environment,
            tags=tags,
            project_dir=project_dir,
            check=check,
        )
    pylock = parse_pylock(load_pylock_data(source), source.path)
    extras = [canonicalize_name(e) for e in extras]
    _unknown(
        "extra",
        extras,
        [str(e) for e in pylock.extras or []],
        str(source.path),
        "the lock's extras",
    )
    _unknown(
        "group",
        groups,
        [str(g) for g in pylock.dependency_groups or []],
        str(source.path),
        "the lock's dependency-groups",
    )
    return plan_from_pylock(
        pylock,
        source,
        environment=environment,
        tags=tags,
        extras=extras,
        groups=list(groups) if groups else None,
        project_dir=project_dir,
        check=check,
    )
