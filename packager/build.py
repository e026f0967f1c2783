"""`pack build` as one orchestration: plan (config, interpreter, lock) then execute (cached
runtime and dependency layers, the app layer, launchers, metadata, smoke test, archive). Each
step lives in its own module; this one only decides the order and what is staged where."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import parse_wheel_filename

from pack_runtime.filelist import write_files_list
from pack_runtime.signatures import signature_path

from . import workdirs
from ._fs import atomic_write_bytes, remove_tree, sha256_file
from .archive import (
    ArchiveOptions,
    Artifact,
    SeparateLayer,
    mtime_from_env,
    sha256_sidecar,
    write_archive,
)
from .binarch import check_bundle
from .bundle import (
    add_runtime_stub,
    check_own_scripts,
    discover_entry_points,
    install_app_layer,
    select_entry_points,
    smoke_test,
    stage_layers,
    swap_in_runtime,
    write_launchers,
)
from .channel import publish
from .closure import check_installed
from .config import PackConfig, read_pyproject
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
from .digests import STORE, DigestMemo
from .distinfo import read_installed
from .emulation import why_not_runnable
from .envs import plan_environment, provision_layers
from .errors import BuildError, ConfigError
from .install import build_wheel
from .launcher import EntryPoint, LauncherSettings
from .locks import LockPlan, LockSource, find_lock
from .manifest import BuildInfo, BundleManifest, LocalPackage, LockRef, PythonBuild
from .manifest import EntryPoint as ManifestEntryPoint
from .project import (
    ProjectMetadata,
    check_lock_covers_project,
    check_requires_python,
    load_project,
)
from .pythons import PIN_FILE, InterpreterArchive, obtain_interpreter
from .runtime import Runtime
from .sbom import SBOM_FILE, Interpreter, plan_for_bundle, sidecar_path
from .sbom import render as render_sbom
from .signing import check_sign_key, read_update_signers, sign_archive
from .strip import apply_strip
from .targets import Target, host_target
from .timings import StepTimer
from .venv import site_packages


@dataclass(frozen=True)
class BuildOptions:
    out_dir: Path | None = None
    find_links: tuple[Path, ...] = ()
    smoke_test: bool = True
    refresh: bool = False  # provision the layers afresh in the staging dir; the cache is not used
    compression_threads: int = 0  # 0: all cores; the archive bytes do not depend on it
    # Install and compile every target with a host interpreter, as for a target this host
    # cannot run, even the host's own (checks that both paths give the same bundle).
    cross_install: bool = False
    channel: Path | None = None  # an update channel directory to publish the archives to


@dataclass(frozen=True)
class TargetArtifact:
    target: str
    artifact: Artifact
    smoke_test: str  # "passed" or "skipped: <why>"
    sbom: Path | None = None  # `<archive>.cdx.json`
    signature: Path | None = None  # `<archive>.sig`, when signed
    channel: Path | None = None  # the channel's latest.json that now offers it


@dataclass(frozen=True)
class BuildResult:
    name: str
    version: str
    artifacts: tuple[TargetArtifact, ...]
    entry_points: tuple[str, ...]
    seconds: float
    provisioned: dict[str, bool] = field(default_factory=dict)
    lock: str = ""  # the lock file used, relative to the project when inside it
    # seconds per step (timings.STEPS), added up over the targets
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def artifact(self) -> Artifact:
        return self.artifacts[0].artifact

    @property
    def target(self) -> str:
        return self.artifacts[0].target

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "lock": self.lock,
            "artifacts": [
                {
                    "path": str(t.artifact.path),
                    "sha256": t.artifact.sha256,
                    "size": t.artifact.size,
                    "format": t.artifact.format,
                    "target": t.target,
                    "smoke_test": t.smoke_test,
                    "sbom": str(t.sbom) if t.sbom else None,
                    "signature": str(t.signature) if t.signature else None,
                    "channel": str(t.channel) if t.channel else None,
                }
                for t in self.artifacts
            ],
            "entry_points": list(self.entry_points),
            "seconds": round(self.seconds, 3),
            "provisioned": self.provisioned,
            "timings": self.timings,
        }


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


def bundle_manifest(
    cfg: PackConfig,
    version: str,
    target: Target,
    runtime: Runtime,
    plan: LockPlan,
    entry_points: list[EntryPoint],
    epoch: int,
    smoke: str | None = None,
    local_packages: tuple[LocalPackage, ...] = (),
) -> BundleManifest:
    a = runtime.archive
    return BundleManifest(
        name=cfg.name,
        version=version,
        target=target.triple,
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
            path=lock_label(cfg, plan.source),
            format=plan.source.format,
            sha256=plan.source.sha256,
        ),
        entry_points=tuple(
            ManifestEntryPoint(
                ep.name,
                ep.module,
                ep.attr or None,
                ep.distribution,
                f"venv/bin/{ep.executable}" if ep.executable else None,
            )
            for ep in entry_points
        ),
        local_packages=local_packages,
        build=BuildInfo.from_epoch(epoch),
        self_command=cfg.self_command,
        env=dict(cfg.env),
        prepend_path=cfg.prepend_path,
        isolated=cfg.isolated,
        strip=cfg.strip,
        allow_unhashed=cfg.allow_unhashed,
        smoke_test=smoke,
    )


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


def archive_name(name: str, version: str, target: Target, fmt: str) -> str:
    base = f"{name}-{version}-{target.triple}"
    return base if fmt == "dir" else f"{base}.{fmt}"


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


def build(ctx: Context, cfg: PackConfig, options: BuildOptions | None = None) -> BuildResult:
    """One archive per target, sharing the lock, the downloads and (when it is pure Python)
    the application's wheel."""
    options = options or BuildOptions()
    started = time.monotonic()
    timer = StepTimer()
    out_dir = (options.out_dir or cfg.out_dir or cfg.project_dir / "dist").absolute()
    targets = parse_targets(cfg.targets)
    epoch = mtime_from_env(ctx.environ)

    # Plan: everything that can fail on bad input fails before the slow steps.
    check_own_scripts(cfg.entry_points, cfg.project_scripts, cfg.has_build_system, cfg.pyproject)
    lock = find_lock(cfg.project_dir, cfg.lock)
    report_lock(ctx, cfg, lock)
    for extra in cfg.local_extra_deps:
        if not extra.exists():
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} does not exist"
            )
    timer.lap("plan")
    update_signers = _check_signing(cfg, options)
    plans = [plan_target(ctx, cfg, t, force_cross=options.cross_install) for t in targets]
    timer.lap("fetch")
    project = load_project(cfg.pyproject, cfg.extras, cfg.groups)
    for tp in plans:
        check_requires_python(project, tp.archive.version)
    lock_plans = [
        plan_environment(
            ctx,
            cfg,
            lock,
            tp.target,
            tp.archive,
            find_links=options.find_links,
            env=tp.env,
            sdist_ok=not tp.cross or tp.target == host_target(),
        )
        for tp in plans
    ]
    for tp, plan in zip(plans, lock_plans, strict=True):
        check_against_project(ctx, project, tp, lock, plan)
    timer.lap("plan")

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in workdirs.remove_stale(out_dir):
        ctx.reporter.detail(f"removed {stale}, left by an interrupted build")
    holding = contextlib.ExitStack()  # the work folder's lock, held until it is removed
    work = holding.enter_context(workdirs.work_dir(out_dir))
    built: list[tuple[TargetArtifact, str, dict[str, bool]]] = []
    try:
        apps = _AppWheels(ctx, cfg, work / "app", options.find_links)
        for tp, plan in zip(plans, lock_plans, strict=True):
            built.append(
                _build_target(
                    ctx,
                    cfg,
                    options,
                    tp,
                    plan,
                    lock,
                    apps,
                    work / tp.target.triple,
                    epoch,
                    timer,
                    update_signers,
                )
            )
        if options.channel is not None:
            # Only once every target is built: a fleet never sees half a release.
            built = [
                (_publish(ctx, cfg, options.channel, done, version, epoch), version, layers)
                for done, version, layers in built
            ]
    except BaseException:
        # One failed target fails the build: no archive of it stays in dist/.
        for done, _, _ in built:
            _remove_artifact(done.artifact.path)
        raise
    finally:
        remove_tree(work)
        holding.close()
    provisioned: dict[str, bool] = {}
    for _, _version, layers in built:
        for key, value in layers.items():
            provisioned[key] = provisioned.get(key, False) or value
    first = built[0]
    return BuildResult(
        name=cfg.name,
        version=first[1],
        artifacts=tuple(b for b, _, _ in built),
        entry_points=apps.entry_point_names,
        seconds=time.monotonic() - started,
        provisioned=provisioned,
        timings=timer.to_json(),
        lock=lock_label(cfg, lock),
    )


class _AppWheels:
    """The project's wheel and the local extras, built once per build interpreter; a pure
    Python wheel (tag none-any) serves every target. A platform wheel cannot be built for a
    target this host does not run: that is an error naming the target."""

    def __init__(
        self, ctx: Context, cfg: PackConfig, work: Path, find_links: tuple[Path, ...]
    ) -> None:
        self.ctx, self.cfg, self.work, self.find_links = ctx, cfg, work, find_links
        self.built: dict[Path, tuple[list[Path], str | None]] = {}
        self.entry_point_names: tuple[str, ...] = ()
        self.local_packages: tuple[LocalPackage, ...] = ()  # what bundle.json records

    def files(
        self, python: Runtime, tp: TargetPlan, plan: LockPlan
    ) -> tuple[list[Path], str | None]:
        for files, version in self.built.values():
            if all(f.name.endswith("-none-any.whl") for f in files):
                return files, version
        if python.exe in self.built:
            files, version = self.built[python.exe]
        else:
            work = self.work / str(len(self.built))
            files, version = [], self.cfg.version
            if self.cfg.has_build_system:
                self.ctx.reporter.step(f"Building the wheel of {self.cfg.name}")
                wheel = build_wheel(
                    self.ctx, self.cfg.project_dir, work / "wheel", python.exe,
                    find_links=self.find_links,
                )  # fmt: skip
                files.append(wheel)
                if version is None:
                    version = wheel.name.split("-")[1]
            local_wheels, self.local_packages = local_package_wheels(
                self.ctx, self.cfg, plan, work, python, find_links=self.find_links
            )
            files += local_wheels
            files += local_extra_wheels(
                self.ctx, self.cfg, work, python, find_links=self.find_links
            )
            self.built[python.exe] = (files, version)
        if tp.cross and tp.target != host_target():
            # Built here (not given as wheels) with compiled code: built for the host.
            native = [
                f.name
                for f in files
                if f.is_relative_to(self.work) and not f.name.endswith("-none-any.whl")
            ]
            if native:
                raise BuildError(
                    f"{', '.join(native)} is built for this host, not {tp.target}; a wheel "
                    "with compiled code cannot be built for another platform here: build it on "
                    f"the target platform itself and pass that wheel in local-extra-deps"
                )
        return files, version


def _build_target(
    ctx: Context,
    cfg: PackConfig,
    options: BuildOptions,
    tp: TargetPlan,
    plan: LockPlan,
    lock: LockSource,
    apps: _AppWheels,
    work: Path,
    epoch: int,
    timer: StepTimer,
    update_signers: tuple[str, ...] = (),
) -> tuple[TargetArtifact, str, dict[str, bool]]:
    target, archive = tp.target, tp.archive
    out_dir = (options.out_dir or cfg.out_dir or cfg.project_dir / "dist").absolute()
    work.mkdir(parents=True)
    if len(cfg.targets) > 1:
        ctx.reporter.step(f"Building for {target}")
    # With --refresh the layers are provisioned inside the staging directory, so
    # they are removed with it and the cache is neither used nor changed for them.
    ephemeral = work / "layers" if options.refresh else None
    if ephemeral is not None:
        ephemeral.mkdir()
    layers = provision_layers(
        ctx,
        archive,
        target,
        plan,
        find_links=options.find_links,
        ephemeral=ephemeral,
        builder=tp.builder,
        python_platform=tp.python_platform,
        timer=timer,
    )
    timer.lap("provision")
    runtime, env_entry = layers.runtime, layers.env
    python = layers.builder or runtime  # the interpreter that runs during the build
    app_files, version = apps.files(python, tp, plan)
    if version is None:
        raise ConfigError(f"{cfg.pyproject}: no version; set [project] version")
    timer.lap("wheel")

    root = work / f"{cfg.name}-{version}"
    root.mkdir()
    ctx.reporter.step("Assembling the bundle")
    stage_layers(root, runtime, env_entry / "venv", hardlink=True, builder=layers.builder)
    install_app_layer(ctx, root / "venv", runtime, app_files, python_platform=tp.python_platform)

    site = site_packages(root / "venv", runtime)
    installed = read_installed(site, root / "venv")
    check_installed(installed, tp.env.markers, {cfg.name: cfg.extras})
    available = discover_entry_points(site, installed)
    entry_points = select_entry_points(
        available, cfg.entry_points, cfg.project_scripts, cfg.pyproject
    )
    apps.entry_point_names = tuple(ep.name for ep in entry_points)
    write_launchers(
        root,
        entry_points,
        LauncherSettings(
            name=cfg.name,
            version=version,
            self_command=cfg.self_command,
            env=cfg.env,
            prepend_path=cfg.prepend_path,
            isolated=cfg.isolated,
            python_minor=archive.minor,
        ),
    )
    add_runtime_stub(root, runtime)
    swap_in_runtime(root, runtime, hardlink=True)
    if cfg.strip:
        removed = apply_strip(root / "python", cfg.strip, runtime.stdlib_name)
        ctx.reporter.detail(f"stripped from the runtime: {', '.join(removed)}")
    checked = check_bundle(root, target)
    ctx.reporter.detail(f"{checked} binaries checked: all for {target}")
    why_not = why_not_runnable(target) if options.smoke_test else "--no-smoke-test"
    smoke = "passed" if why_not is None else f"skipped: {why_not}"
    manifest = bundle_manifest(
        cfg, version, target, runtime, plan, entry_points, epoch, smoke, apps.local_packages
    )
    manifest = dataclasses.replace(
        manifest, update_signers=update_signers, update_url=cfg.update_url
    )
    (root / ".pack").mkdir(exist_ok=True)
    (root / ".pack" / "bundle.json").write_bytes(manifest.to_json())
    app_wheel = app_files[0] if cfg.has_build_system and app_files else None
    sbom = bundle_sbom(cfg, root, runtime, version, app_wheel, app_files, plan, tp, epoch)
    (root / SBOM_FILE).write_bytes(sbom)
    # Files linked from the cache are hashed once, not at every build.
    memo = DigestMemo({root / "python": runtime.entry / STORE, root / "venv": env_entry / STORE})
    write_files_list(root, memo)
    memo.save()
    timer.lap("assemble")
    if why_not is None:
        ctx.reporter.step(f"Smoke-testing the bundle{' under emulation' if tp.cross else ''}")
        smoke_test(root, entry_points)
        timer.lap("smoke_test")
    elif options.smoke_test:
        ctx.reporter.warn(f"not smoke-testing the {target} bundle: {why_not}")

    frames = None if options.refresh else ctx.cache_dir
    site_rel = site_packages(Path(), runtime).as_posix()

    dest = out_dir / archive_name(cfg.name, version, target, cfg.format)
    ctx.reporter.step(f"Writing {dest.name}")
    # Files beside an older archive of the same name must not outlive it.
    sidecar_path(dest).unlink(missing_ok=True)
    signature_path(dest).unlink(missing_ok=True)
    artifact = write_archive(
        root,
        dest,
        top=root.name,
        options=ArchiveOptions(
            format=cfg.format,
            level=cfg.compression_level,
            threads=options.compression_threads,
            mtime=epoch,
        ),
        # The runtime and the locked packages are compressed apart and, unless --refresh, kept
        # in the cache: a rebuild only compresses what changed (the same bytes either way).
        layers=(
            SeparateLayer("python", archive.sha256, frames),
            SeparateLayer(
                f"venv/{site_rel}", env_entry.name, frames, env_entry / "venv" / site_rel
            ),
        ),
    )
    timer.lap("archive")
    remove_tree(root)
    signature = None
    try:
        atomic_write_bytes(sidecar_path(dest), sbom)
        if cfg.sign_key is not None:
            ctx.reporter.step(f"Signing {dest.name} with {cfg.sign_key}")
            signature = sign_archive(dest, cfg.sign_key)
    except BaseException:
        _remove_artifact(dest)
        raise
    done = TargetArtifact(target.triple, artifact, smoke, sidecar_path(dest), signature)
    return done, version, dict(layers.provisioned)


def _check_signing(cfg: PackConfig, options: BuildOptions) -> tuple[str, ...]:
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
    if options.channel is not None and cfg.format == "dir":
        raise ConfigError(
            f"{cfg.pyproject}: format 'dir' cannot be published to a channel; choose an "
            "archive format (tar.zst, tar.gz, tar.xz)"
        )
    return update_signers


def _publish(
    ctx: Context, cfg: PackConfig, channel: Path, done: TargetArtifact, version: str, epoch: int
) -> TargetArtifact:
    ctx.reporter.step(f"Publishing {done.artifact.path.name} to the channel {channel}")
    a = done.artifact
    published = publish(
        channel,
        name=cfg.name,
        version=version,
        target=done.target,
        archive=a.path,
        sha256=a.sha256,
        size=a.size,
        built=BuildInfo.from_epoch(epoch).time,
        beside=tuple(
            p for p in (sha256_sidecar(a.path), done.sbom, done.signature) if p is not None
        ),
    )
    return dataclasses.replace(done, channel=published.latest)


def _remove_artifact(dest: Path) -> None:
    if dest.is_dir() and not dest.is_symlink():
        remove_tree(dest)
    else:
        dest.unlink(missing_ok=True)
    for beside in (sha256_sidecar(dest), sidecar_path(dest), signature_path(dest)):
        beside.unlink(missing_ok=True)


def bundle_sbom(
    cfg: PackConfig,
    root: Path,
    runtime: Runtime,
    version: str,
    app_wheel: Path | None,
    app_files: list[Path],
    plan: LockPlan,
    tp: TargetPlan,
    epoch: int,
) -> bytes:
    a = runtime.archive
    project = read_pyproject(cfg.project_dir)[1].get("project", {})
    return render_sbom(
        plan_for_bundle(
            root=root,
            site=site_packages(root / "venv", runtime),
            name=cfg.name,
            version=version,
            app_wheel=app_wheel,
            extra_wheels=[f for f in app_files if f != app_wheel],
            locked={x.name: x.sha256 for x in plan.artifacts},
            project_dependencies=project.get("dependencies", []),
            interpreter=Interpreter(a.filename, a.version, a.sha256),
            environment=tp.env.markers,
            extras=cfg.extras,
            epoch=epoch,
        )
    )


def local_package_wheels(
    ctx: Context,
    cfg: PackConfig,
    plan: LockPlan,
    work: Path,
    runtime: Runtime,
    *,
    find_links: tuple[Path, ...] = (),
) -> tuple[list[Path], tuple[LocalPackage, ...]]:
    """The lock's `directory` packages (path dependencies, workspace members) built into
    wheels with the build interpreter, and what bundle.json records of each."""
    wheels: list[Path] = []
    records: list[LocalPackage] = []
    for i, directory in enumerate(plan.directories):
        rel = Path(os.path.relpath(directory.path, cfg.project_dir.resolve())).as_posix()
        ctx.reporter.step(f"Building the wheel of {directory.name} ({rel})")
        wheel = build_wheel(
            ctx, directory.path, work / f"local-{i}", runtime.exe, find_links=find_links
        )
        wheels.append(wheel)
        records.append(
            LocalPackage(
                name=directory.name,
                version=str(parse_wheel_filename(wheel.name)[1]),
                path=rel,
                sha256=sha256_file(wheel),
            )
        )
    return wheels, tuple(records)


def local_extra_wheels(
    ctx: Context,
    cfg: PackConfig,
    work: Path,
    runtime: Runtime,
    *,
    find_links: tuple[Path, ...] = (),
) -> list[Path]:
    """`local-extra-deps`: wheels as they are; project directories built into wheels."""
    out: list[Path] = []
    for i, extra in enumerate(cfg.local_extra_deps):
        if extra.is_dir():
            ctx.reporter.step(f"Building the wheel of {extra.name}")
            out.append(
                build_wheel(ctx, extra, work / f"extra-{i}", runtime.exe, find_links=find_links)
            )
        elif extra.suffix == ".whl":
            out.append(extra)
        else:
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} is neither a wheel nor "
                "a project directory"
            )
    return out
