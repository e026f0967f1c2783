"""The plan of a build as one frozen value: the targets with their interpreters and lock plans,
the epoch, validated archive options, the kind of each local extra dependency, launcher and
signing settings. `build`, `run` and `fetch` start from it, and everything that can fail on bad
input fails here, before the slow steps (installs, wheel builds, compression)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .bundle import check_own_scripts
from .bundlearchive import ArchiveOptions, check_options, mtime_from_env
from .config import PackConfig
from .context import Context
from .crossplan import (
    TargetPlan,
    archive_for,
    archives_by_target,
    check_builder,
    needs_builder,
    parse_glibc,
    parse_targets,
    target_environment,
)
from .envs import plan_environment
from .errors import ConfigError
from .launcher import Launchable, LauncherSettings
from .locks import LockPlan, LockSource, find_lock
from .manifest import BuildInfo, BundleManifest, EntryPoint, LocalPackage, LockRef, PythonBuild
from .project import (
    ProjectMetadata,
    check_lock_covers_project,
    check_requires_python,
    load_project,
)
from .pythons import PIN_FILE, InterpreterArchive, obtain_interpreter
from .signing import check_sign_key, read_update_signers
from .targets import Target, host_target
from .timings import StepTimer


@dataclass(frozen=True)
class PlanOptions:
    """What the command line adds to [tool.pack] for planning."""

    out_dir: Path | None = None
    find_links: tuple[Path, ...] = ()
    compression_threads: int = 0  # 0: all cores; the archive bytes do not depend on it
    cross_install: bool = False  # every target installed and compiled by a host interpreter
    channel: Path | None = None  # an update channel directory to publish the archives to


@dataclass(frozen=True)
class ExtraDep:
    """One `local-extra-deps` entry: a wheel used as it is, or a project built into one."""

    path: Path
    kind: Literal["wheel", "project"]


@dataclass(frozen=True)
class TargetBuild:
    """One target's part of the plan: its interpreters and markers, and the lock's files
    for them."""

    target: TargetPlan
    lock: LockPlan


@dataclass(frozen=True)
class BuildPlan:
    cfg: PackConfig
    out_dir: Path
    epoch: int
    lock: LockSource
    project: ProjectMetadata
    targets: tuple[TargetBuild, ...]
    archive: ArchiveOptions  # checked: format, level range, threads, mtime
    extras: tuple[ExtraDep, ...]
    update_signers: tuple[str, ...]  # allowed_signers lines
    find_links: tuple[Path, ...] = ()
    channel: Path | None = None

    @property
    def lock_label(self) -> str:
        return lock_label(self.cfg, self.lock)

    def launcher(self, version: str, tp: TargetPlan) -> LauncherSettings:
        """The launchers' settings for the bundle of `tp` at `version` (known once the
        project's wheel is built)."""
        return replace(launcher_settings(self.cfg, tp.archive), version=version)

    def manifest(
        self,
        tb: TargetBuild,
        version: str,
        entry_points: Sequence[Launchable],
        smoke: str,
        local_packages: tuple[LocalPackage, ...] = (),
    ) -> BundleManifest:
        """bundle.json of the bundle of `tb`: the plan's settings, and what only the build
        knows (the version, the launched entry points, the smoke test, the local packages)."""
        cfg, a = self.cfg, tb.target.archive
        return BundleManifest(
            name=cfg.name,
            version=version,
            target=tb.target.target.triple,
            python=PythonBuild(
                version=a.version,
                implementation="cpython",
                asset=a.filename,
                sha256=a.sha256,
                tag=a.tag or "",
                flavor=a.flavor,
                freethreaded=a.freethreaded,
            ),
            lock=LockRef(
                path=self.lock_label, format=tb.lock.source.format, sha256=tb.lock.source.sha256
            ),
            entry_points=tuple(
                EntryPoint(
                    ep.name,
                    ep.module,
                    ep.attr or None,
                    ep.distribution,
                    ep.reference if ep.executable else None,
                )
                for ep in entry_points
            ),
            local_packages=local_packages,
            build=BuildInfo.from_epoch(self.epoch),
            self_command=cfg.self_command,
            env=dict(cfg.env),
            prepend_path=cfg.prepend_path,
            isolated=cfg.isolated,
            strip=cfg.strip,
            allow_unhashed=cfg.allow_unhashed,
            smoke_test=smoke,
            update_signers=self.update_signers,
            update_url=cfg.update_url,
        )


def launcher_settings(cfg: PackConfig, archive: InterpreterArchive) -> LauncherSettings:
    """What every launcher of a bundle with `archive`'s interpreter shares; `pack run` sets
    up its child's environment from the same settings."""
    return LauncherSettings(
        name=cfg.name,
        version=cfg.version or "",
        self_command=cfg.self_command,
        env=cfg.env,
        prepend_path=cfg.prepend_path,
        isolated=cfg.isolated,
        python_minor=archive.minor,
    )


def plan_build(
    ctx: Context,
    cfg: PackConfig,
    options: PlanOptions | None = None,
    timer: StepTimer | None = None,
) -> BuildPlan:
    """Everything `pack build` decides before it installs anything: bad configuration, a
    missing file, a lock that does not fit the project or a target, an interpreter that does
    not verify, all fail here. Fetching the interpreters is the one slow part (a no-op once
    they are cached)."""
    options = options or PlanOptions()
    timer = timer or StepTimer()
    out_dir = (options.out_dir or cfg.out_dir or cfg.project_dir / "dist").absolute()
    targets = parse_targets(cfg.targets)
    epoch = mtime_from_env(ctx.environ)
    archive = ArchiveOptions(
        format=cfg.format,
        level=cfg.compression_level,
        threads=options.compression_threads,
        mtime=epoch,
    )
    check_options(archive)
    check_own_scripts(cfg.entry_points, cfg.project_scripts, cfg.has_build_system, cfg.pyproject)
    lock = find_lock(cfg.project_dir, cfg.lock)
    report_lock(ctx, cfg, lock)
    extras = classify_extras(cfg)
    timer.lap("plan")
    update_signers = check_signing(cfg, options.channel)
    plans = [plan_target(ctx, cfg, t, force_cross=options.cross_install) for t in targets]
    timer.lap("fetch")
    project = load_project(cfg.pyproject, cfg.extras, cfg.groups)
    for tp in plans:
        check_requires_python(project, tp.archive.version)
    lock_plans = [
        plan_target_lock(ctx, cfg, lock, tp, options.find_links, sdist_ok=host_can_build(tp))
        for tp in plans
    ]
    for tp, plan in zip(plans, lock_plans, strict=True):
        check_against_project(ctx, project, tp, lock, plan)
    timer.lap("plan")
    return BuildPlan(
        cfg=cfg,
        out_dir=out_dir,
        epoch=epoch,
        lock=lock,
        project=project,
        targets=tuple(TargetBuild(tp, p) for tp, p in zip(plans, lock_plans, strict=True)),
        archive=archive,
        extras=extras,
        update_signers=update_signers,
        find_links=options.find_links,
        channel=options.channel,
    )


def host_can_build(tp: TargetPlan) -> bool:
    """Whether an sdist may serve `tp`: built here, it is built for the host."""
    return not tp.cross or tp.target == host_target()


def plan_target_lock(
    ctx: Context,
    cfg: PackConfig,
    lock: LockSource,
    tp: TargetPlan,
    find_links: Sequence[Path] = (),
    *,
    sdist_ok: bool = True,
) -> LockPlan:
    """The lock's files for one target, with the markers and tags of its plan."""
    return plan_environment(
        ctx, cfg, lock, tp.target, tp.archive, find_links=find_links, env=tp.env, sdist_ok=sdist_ok
    )


def classify_extras(cfg: PackConfig) -> tuple[ExtraDep, ...]:
    """Each `local-extra-deps` entry: a wheel or a project directory; anything else is an
    error before anything is built."""
    out: list[ExtraDep] = []
    for extra in cfg.local_extra_deps:
        if not extra.exists():
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} does not exist"
            )
        if extra.is_dir():
            out.append(ExtraDep(extra, "project"))
        elif extra.suffix == ".whl":
            out.append(ExtraDep(extra, "wheel"))
        else:
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} is neither a wheel nor "
                "a project directory"
            )
    return tuple(out)


def obtain_interpreter_archive(ctx: Context, cfg: PackConfig, target: Target) -> InterpreterArchive:
    """The verified interpreter archive: `python-archive`, else the pin in pack.lock, else the
    `python` request resolved and fetched (the cache makes that a no-op after the first)."""
    return obtain_interpreter(
        ctx,
        request=cfg.python,
        variant=cfg.python_variant,
        flavor=cfg.python_flavor,
        archive=archive_for(cfg.python_archives, target),
        target=target,
        mirror=cfg.python_mirror,
        pin_file=cfg.project_dir / PIN_FILE,
    )


def obtain_builder_archive(
    ctx: Context, cfg: PackConfig, archive: InterpreterArchive
) -> InterpreterArchive:
    """The host interpreter that installs and compiles for a target this host cannot run:
    the target's own archive when it is the host's, else a --python-archive for the host,
    else the same minor version fetched (or pinned) for the host like any interpreter."""
    host = host_target()
    if archive.triple == host.triple:
        return archive
    given = archives_by_target(cfg.python_archives).get(host.triple)
    major, minor = archive.minor
    builder = obtain_interpreter(
        ctx,
        request=None if given else f"{major}.{minor}{'t' if archive.freethreaded else ''}",
        variant=None,
        flavor=None if given else cfg.python_flavor,
        archive=given,
        target=host,
        mirror=cfg.python_mirror,
        pin_file=cfg.project_dir / PIN_FILE,
    )
    check_builder(archive, builder)
    return builder


def plan_target(
    ctx: Context, cfg: PackConfig, target: Target, *, force_cross: bool = False
) -> TargetPlan:
    """The interpreter of `target`, the host interpreter standing in for it when it cannot
    run here, and the markers and tags its lock is planned with."""
    archive = obtain_interpreter_archive(ctx, cfg, target)
    builder = (
        obtain_builder_archive(ctx, cfg, archive)
        if needs_builder(target, force=force_cross)
        else None
    )
    glibc = parse_glibc(cfg.glibc, f"{cfg.pyproject}: [tool.pack] glibc") if cfg.glibc else None
    return TargetPlan(target, archive, builder, target_environment(target, archive, glibc=glibc))


def lock_label(cfg: PackConfig, source: LockSource) -> str:
    path = source.path
    if path.is_relative_to(cfg.project_dir):
        return path.relative_to(cfg.project_dir).as_posix()
    return path.name


def report_lock(ctx: Context, cfg: PackConfig, source: LockSource) -> None:
    """Say which lock the build uses; when discovery passed over others, which and how to
    choose."""
    ctx.reporter.step(f"Using the lock {lock_label(cfg, source)} ({source.format})")
    if source.ignored:
        others = ", ".join(p.relative_to(cfg.project_dir).as_posix() for p in source.ignored)
        ctx.reporter.warn(
            f"{cfg.project_dir} has several lock files: using {lock_label(cfg, source)}, "
            f'ignoring {others}; choose one with [tool.pack] lock = "..." in {cfg.pyproject.name}'
        )


def check_against_project(
    ctx: Context, project: ProjectMetadata, tp: TargetPlan, lock: LockSource, plan: LockPlan
) -> None:
    """The lock plan of one target satisfies what the project declares (its dependencies for
    the chosen extras and groups, markers evaluated for that target)."""
    if plan.project_listed:
        ctx.reporter.detail(
            f"{lock.path.name} lists the project itself; it is left out of the lock and its "
            "wheel is built from the project instead"
        )
    if project.dynamic_dependencies:
        ctx.reporter.detail(
            "the project's dependencies are dynamic: the lock is checked against them only "
            "once its wheel is installed"
        )
    check_lock_covers_project(project, plan, tp.env.markers)


def check_signing(cfg: PackConfig, channel: Path | None) -> tuple[str, ...]:
    """Signing, update signers and the channel checked before anything slow; returns the
    update signers' allowed_signers lines."""
    update_signers = (
        read_update_signers(cfg.update_signers, f"{cfg.pyproject}: [tool.pack] update-signers")
        if cfg.update_signers
        else ()
    )
    if cfg.sign_key is not None:
        if cfg.format == "dir":
            raise ConfigError(
                f"{cfg.pyproject}: format 'dir' cannot be signed; choose an archive format "
                "(tar.zst, tar.gz, tar.xz) or drop --sign / sign-key / PACK_SIGN_KEY"
            )
        check_sign_key(cfg.sign_key, "--sign / sign-key / PACK_SIGN_KEY")
    if channel is not None and cfg.format == "dir":
        raise ConfigError(
            f"{cfg.pyproject}: format 'dir' cannot be published to a channel; choose an "
            "archive format (tar.zst, tar.gz, tar.xz)"
        )
    return update_signers
