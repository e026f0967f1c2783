"""`pack fetch`: a wheelhouse holding everything a build needs from the network, for each
target: the interpreter archive (with its `.sha256`), every file the lock selects, and the
build backend of the project, so `pack build --offline --find-links DIR` works in an air gap."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._fs import atomic_write_text, sha256_file, staged_file
from .config import PackConfig
from .context import Context
from .crossplan import TargetEnvironment, target_environment, uv_platform
from .envs import plan_environment
from .errors import ChecksumError, ConfigError
from .install import compile_build_requirements
from .locks import LockPlan, LockSource, find_lock
from .locks.index import lookup_files
from .locks.requirements import parse_requirements, plan_requirements
from .pythons import InterpreterArchive
from .targets import Target, parse_target
from .wheels import obtain_all

# What PEP 517 front ends assume for a project with a setup.py and no [build-system].
_LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0",)


@dataclass(frozen=True)
class TargetFetch:
    target: str
    interpreter: Path
    lock_files: tuple[Path, ...]
    build_files: tuple[Path, ...]


@dataclass(frozen=True)
class FetchResult:
    dest: Path
    targets: tuple[TargetFetch, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        out: dict[Path, None] = {}
        for t in self.targets:
            for p in (t.interpreter, *t.lock_files, *t.build_files):
                out[p] = None
        return tuple(out)


def _place(source: Path, dest: Path, sha256: str) -> Path:
    """Copy a verified file into the wheelhouse (a copy, not a link: the wheelhouse travels
    and may be changed; the cache must not change with it). A file already there must have
    the same digest."""
    if dest.is_file():
        if sha256_file(dest) != sha256:
            raise ChecksumError(
                f"{dest} is already in the wheelhouse with other bytes than the "
                f"{sha256} expected; remove it, or fetch into an empty directory"
            )
        return dest
    with staged_file(dest) as tmp:
        shutil.copyfile(source, tmp)
    return dest


def _build_requires(project: Path) -> tuple[str, ...] | None:
    """The static build requirements of a project directory; None when it builds nothing."""
    pyproject = project / "pyproject.toml"
    data: dict[str, object] = {}
    if pyproject.is_file():
        with open(pyproject, "rb") as f:
            data = tomllib.load(f)
    system = data.get("build-system")
    if isinstance(system, dict) and isinstance(system.get("requires"), list):
        return tuple(str(r) for r in system["requires"])
    if (project / "setup.py").is_file():
        return _LEGACY_BUILD_REQUIRES
    return None


def _build_plan(
    ctx: Context,
    requires: Sequence[str],
    project: Path,
    target: Target,
    archive: InterpreterArchive,
    env: TargetEnvironment,
) -> LockPlan:
    text = compile_build_requirements(
        ctx,
        requires,
        python_version=archive.version,
        platform=uv_platform(target, env.glibc),
        where=project,
    )
    with tempfile.TemporaryDirectory(prefix="pack-fetch-") as tmp:
        path = Path(tmp) / "build-requirements.txt"
        path.write_text(text, encoding="utf-8")
        rf = parse_requirements(path, allow_unhashed=False)
        source = LockSource(path, "requirements", hashlib.sha256(text.encode()).hexdigest())
        return plan_requirements(
            rf,
            source,
            environment=env.markers,
            tags=env.tags,
            files_for=lookup_files(ctx, rf.index_urls, rf.find_links),
        )


def fetch_wheelhouse(
    ctx: Context,
    cfg: PackConfig,
    targets: Sequence[Target],
    dest: Path,
    *,
    find_links: Sequence[Path] = (),
) -> FetchResult:
    """Fill `dest` for every target in `targets`. Files are verified on the way (they pass
    through the cache), so the wheelhouse holds only bytes the lock vouches for."""
    from .build import plan_target  # build's own choice of interpreter and wheel policy

    if ctx.offline:
        raise ConfigError("pack fetch exists to download; drop --offline")
    dest = dest.absolute()
    dest.mkdir(parents=True, exist_ok=True)
    lock = find_lock(cfg.project_dir, cfg.lock)
    projects = [cfg.project_dir] if cfg.has_build_system else []
    projects += [p for p in cfg.local_extra_deps if p.is_dir()]
    fetched: list[TargetFetch] = []
    for target in targets:
        ctx.reporter.step(f"Fetching for {target}")
        tp = plan_target(ctx, cfg, target)
        archive = tp.archive
        interpreter = _place(archive.path, dest / archive.filename, archive.sha256)
        atomic_write_text(
            dest / f"{archive.filename}.sha256", f"{archive.sha256}  {archive.filename}\n"
        )
        if tp.builder is not None:  # the host interpreter that installs and compiles for it
            _place(tp.builder.path, dest / tp.builder.filename, tp.builder.sha256)
            atomic_write_text(
                dest / f"{tp.builder.filename}.sha256",
                f"{tp.builder.sha256}  {tp.builder.filename}\n",
            )
        plan = plan_environment(
            ctx,
            cfg,
            lock,
            target,
            archive,
            find_links=find_links,
            env=tp.env,
            sdist_ok=not tp.cross,
        )
        lock_files = [
            _place(path, dest / a.filename, a.sha256)
            for a, path in zip(
                plan.artifacts, obtain_all(ctx, plan.artifacts, find_links), strict=True
            )
        ]
        build_files: list[Path] = []
        # The lock's path dependencies and workspace members are built too: their backends.
        for project in dict.fromkeys([*projects, *(d.path for d in plan.directories)]):
            requires = _build_requires(project)
            if not requires:
                continue
            ctx.reporter.step(f"Pinning the build backend of {project.name} for {target}")
            # The build backend runs on the host (with the builder interpreter for a target
            # the host cannot run), so it is fetched for the interpreter that runs it.
            runs = tp.builder or archive
            host = parse_target(runs.triple)
            env = target_environment(host, runs) if tp.cross else tp.env
            build = _build_plan(ctx, requires, project, host, runs, env)
            build_files += [
                _place(path, dest / a.filename, a.sha256)
                for a, path in zip(build.artifacts, obtain_all(ctx, build.artifacts), strict=True)
            ]
        fetched.append(
            TargetFetch(
                target.triple, interpreter, tuple(lock_files), tuple(dict.fromkeys(build_files))
            )
        )
    return FetchResult(dest, tuple(fetched))
