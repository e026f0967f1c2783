"""`pack build` as one orchestration: plan (config, interpreter, lock) then execute (cached
runtime and dependency layers, the app layer, launchers, metadata, smoke test, archive). Each
step lives in its own module; this one only decides the order and what is staged where."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pack_runtime.filelist import write_files_list
from pack_runtime.layout import PYTHON, VENV, Bundle
from pack_runtime.signatures import signature_path

from . import workdirs
from ._fs import atomic_write_bytes, remove_tree
from .appwheels import AppWheels
from .background import Background
from .binarch import check_bundle
from .bundle import (
    add_runtime_stub,
    compile_app_layer,
    discover_entry_points,
    install_app_layer,
    select_entry_points,
    smoke_test,
    stage_layers,
    swap_in_runtime,
    write_launchers,
)
from .bundlearchive import SeparateLayer, WrittenArchive, sha256_sidecar, write_archive
from .closure import check_installed
from .config import PackConfig, read_pyproject
from .context import Context
from .crossplan import TargetPlan
from .digests import STORE, DigestMemo
from .distinfo import InstalledDistribution, read_installed
from .emulation import why_not_runnable
from .envs import Layers, provision_layers
from .errors import ConfigError
from .launcher import Launchable
from .locks import LockPlan
from .manifest import BuildInfo
from .plan import BuildPlan, PlanOptions, TargetBuild, plan_build
from .runtime import Runtime
from .sbom import Interpreter, plan_for_bundle, preload_renderer, sidecar_path
from .sbom import render as render_sbom
from .signing import sign_archive
from .strip import apply_strip
from .targets import Target
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

    def plan_options(self) -> PlanOptions:
        return PlanOptions(
            out_dir=self.out_dir,
            find_links=self.find_links,
            compression_threads=self.compression_threads,
            cross_install=self.cross_install,
            channel=self.channel,
        )


@dataclass(frozen=True)
class TargetArtifact:
    target: str
    artifact: WrittenArchive
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
    def artifact(self) -> WrittenArchive:
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


def archive_name(name: str, version: str, target: Target, fmt: str) -> str:
    base = f"{name}-{version}-{target.triple}"
    return base if fmt == "dir" else f"{base}.{fmt}"


def build(ctx: Context, cfg: PackConfig, options: BuildOptions | None = None) -> BuildResult:
    """One archive per target, sharing the lock, the downloads and (when it is pure Python)
    the application's wheel: plan, then per target the layers, the assembled bundle, its
    smoke test and its archive."""
    options = options or BuildOptions()
    started = time.monotonic()
    timer = StepTimer()
    plan = plan_build(ctx, cfg, options.plan_options(), timer)

    out_dir = plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in workdirs.remove_stale(out_dir):
        ctx.reporter.detail(f"removed {stale}, left by an interrupted build")
    holding = contextlib.ExitStack()  # the work folder's lock, held until it is removed
    work = holding.enter_context(workdirs.work_dir(out_dir))
    built: list[tuple[TargetArtifact, str, dict[str, bool]]] = []
    try:
        apps = AppWheels(ctx, cfg, plan.extras, work / "app", plan.find_links)
        for tb in plan.targets:
            built.append(
                _build_target(ctx, plan, options, tb, apps, work / tb.target.target.triple, timer)
            )
        if plan.channel is not None:
            # Only once every target is built: a fleet never sees half a release.
            built = [
                (_publish(ctx, cfg, plan.channel, done, version, plan.epoch), version, layers)
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
        lock=plan.lock_label,
    )


def _build_target(
    ctx: Context,
    plan: BuildPlan,
    options: BuildOptions,
    tb: TargetBuild,
    apps: AppWheels,
    work: Path,
    timer: StepTimer,
) -> tuple[TargetArtifact, str, dict[str, bool]]:
    """One target: its cached layers, the app's wheels, the assembled bundle, its smoke test
    and its archive (with SBOM and signature beside it)."""
    cfg, tp = plan.cfg, tb.target
    work.mkdir(parents=True)
    if len(cfg.targets) > 1:
        ctx.reporter.step(f"Building for {tp.target}")
    # With --refresh the layers are provisioned inside the staging directory, so
    # they are removed with it and the cache is neither used nor changed for them.
    ephemeral = work / "layers" if options.refresh else None
    if ephemeral is not None:
        ephemeral.mkdir()
    layers = provision_layers(
        ctx,
        tp.archive,
        tp.target,
        tb.lock,
        find_links=plan.find_links,
        ephemeral=ephemeral,
        builder=tp.builder,
        python_platform=tp.python_platform,
        timer=timer,
        strip=cfg.strip,
    )
    timer.lap("provision")
    python = layers.builder or layers.runtime  # the interpreter that runs during the build
    # The app's wheels are built (uv subprocesses) while this thread stages the layers and
    # loads what the rest of the build needs; the bundle's folder is named once the version
    # is known. Whichever fails first stops the other before anything is removed.
    staged = work / "staging"
    with Background(lambda: apps.files(python, tp, tb.lock), "wheel build") as building:
        _stage(staged, layers)
        preload_renderer()
        timer.lap("assemble")
        app_files, version = building.result()
    if version is None:
        raise ConfigError(f"{cfg.pyproject}: no version; set [project] version")
    timer.lap("wheel")  # only the wait beyond the staging: they overlap

    why_not = why_not_runnable(tp.target) if options.smoke_test else "--no-smoke-test"
    smoke = "passed" if why_not is None else f"skipped: {why_not}"
    root = work / f"{cfg.name}-{version}"
    staged.rename(root)
    job = _Assembly(
        ctx, plan, tb, layers, apps, app_files, version, root, ephemeral or ctx.cache_dir
    )
    entry_points, installed = _assemble(job)
    dest = plan.out_dir / archive_name(cfg.name, version, tp.target, cfg.format)
    # The smoke test (a child process that only reads the bundle) runs on the finished tree
    # while its metadata and the archive are written; a bundle that fails it loses its
    # archive again.
    testing: Background[None] | None = None
    if why_not is None:
        ctx.reporter.step(f"Smoke-testing the bundle{' under emulation' if tp.cross else ''}")
        testing = Background(lambda: smoke_test(root, entry_points), "smoke test")
    elif options.smoke_test:
        ctx.reporter.warn(f"not smoke-testing the {tp.target} bundle: {why_not}")
    try:
        sbom = _describe(job, smoke, entry_points, installed)
        timer.lap("assemble")
        artifact = _write_bundle_archive(ctx, plan, tp, layers, root, dest, options.refresh)
    except BaseException:
        if testing is not None:
            testing.stop()  # its child has its own process group: killed, not waited out
        raise
    finally:
        if testing is not None:
            testing.join()  # the tree is removed below or by the caller: never under it
    timer.lap("archive")
    if testing is not None:
        try:
            testing.result()
        except BaseException:
            _remove_artifact(dest)
            raise
        # Only what the smoke test took beyond the rest: they overlap.
        timer.lap("smoke_test")
    remove_tree(root)
    signature = _write_beside(ctx, plan.cfg, dest, sbom)
    done = TargetArtifact(tp.target.triple, artifact, smoke, sidecar_path(dest), signature)
    return done, version, dict(layers.provisioned)


@dataclass(frozen=True)
class _Assembly:
    """What one target's bundle is assembled from, and where (`root`)."""

    ctx: Context
    plan: BuildPlan
    tb: TargetBuild
    layers: Layers
    apps: AppWheels
    app_files: list[Path]
    version: str
    root: Path
    cache_dir: Path  # where the layers come from (the runtime stub too)


def _stage(root: Path, layers: Layers) -> None:
    """The cached layers staged (hard-linked) at `root`, a new folder."""
    root.mkdir()
    stage_layers(
        root, layers.runtime, Bundle(layers.env).venv, hardlink=True, builder=layers.builder
    )


def _assemble(job: _Assembly) -> tuple[list[Launchable], tuple[InstalledDistribution, ...]]:
    """The bundle's tree at `job.root`, where the layers are staged: the app layer installed
    and checked, launchers, the runtime stub, the strip preset applied; returns the launched
    entry points and the installed distributions."""
    cfg, tp, runtime = job.plan.cfg, job.tb.target, job.layers.runtime
    bundle = Bundle(job.root)
    job.ctx.reporter.step("Assembling the bundle")
    sources = install_app_layer(
        job.ctx,
        bundle.venv,
        runtime,
        job.app_files,
        python_platform=tp.python_platform,
        compile=False,
    )
    # The app's modules are compiled (a subprocess) while its distributions are checked and
    # its launchers and the runtime stub are written; both done before the runtime is
    # swapped in or stripped under the compiling interpreter.
    compiling: Background[None] = Background(
        lambda: compile_app_layer(bundle.venv, sources), "compiling the application"
    )
    with compiling:
        site = site_packages(bundle.venv, runtime)
        installed = read_installed(site, bundle.venv)
        check_installed(installed, tp.env.markers, {cfg.name: cfg.extras})
        available = discover_entry_points(site, installed)
        entry_points = select_entry_points(
            available, cfg.entry_points, cfg.project_scripts, cfg.pyproject
        )
        job.apps.entry_point_names = tuple(ep.name for ep in entry_points)
        write_launchers(job.root, entry_points, job.plan.launcher(job.version, tp))
        add_runtime_stub(job.root, runtime, job.cache_dir)
        compiling.result()
    swap_in_runtime(job.root, runtime, hardlink=True)
    if cfg.strip:
        removed = apply_strip(bundle.python_home, cfg.strip, runtime.stdlib_name)
        job.ctx.reporter.detail(f"stripped from the runtime: {', '.join(removed)}")
    return entry_points, installed


def _describe(
    job: _Assembly,
    smoke: str,
    entry_points: list[Launchable],
    installed: tuple[InstalledDistribution, ...],
) -> bytes:
    """The assembled tree checked (every binary for the target) and described in `.pack/`:
    bundle.json, the SBOM and the file list; returns the SBOM."""
    cfg, tb, runtime, bundle = job.plan.cfg, job.tb, job.layers.runtime, Bundle(job.root)
    checked = check_bundle(job.root, tb.target.target)
    job.ctx.reporter.detail(f"{checked} binaries checked: all for {tb.target.target}")
    manifest = job.plan.manifest(tb, job.version, entry_points, smoke, job.apps.local_packages)
    bundle.pack_dir.mkdir(exist_ok=True)
    bundle.bundle_json.write_bytes(manifest.to_json())
    app_wheel = job.app_files[0] if cfg.has_build_system and job.app_files else None
    sbom = bundle_sbom(
        cfg,
        job.root,
        runtime,
        job.version,
        app_wheel,
        job.app_files,
        tb.lock,
        tb.target,
        job.plan.epoch,
        installed,
    )
    bundle.sbom.write_bytes(sbom)
    # Files linked from the cache are hashed once, not at every build.
    memo = DigestMemo(
        {bundle.python_home: runtime.entry / STORE, bundle.venv: job.layers.env / STORE}
    )
    write_files_list(job.root, memo)
    memo.save()
    return sbom


def _write_bundle_archive(
    ctx: Context,
    plan: BuildPlan,
    tp: TargetPlan,
    layers: Layers,
    root: Path,
    dest: Path,
    refresh: bool,
) -> WrittenArchive:
    """`root` archived to `dest`, the cached layers compressed apart."""
    runtime, env_entry = layers.runtime, layers.env
    frames = None if refresh else ctx.cache_dir
    site_rel = site_packages(Path(), runtime).as_posix()
    ctx.reporter.step(f"Writing {dest.name}")
    # Files beside an older archive of the same name must not outlive it.
    sidecar_path(dest).unlink(missing_ok=True)
    signature_path(dest).unlink(missing_ok=True)
    return write_archive(
        root,
        dest,
        top=root.name,
        options=plan.archive,
        # The runtime and the locked packages are compressed apart and, unless --refresh, kept
        # in the cache: a rebuild only compresses what changed (the same bytes either way).
        layers=(
            SeparateLayer(PYTHON, tp.archive.sha256, frames),
            SeparateLayer(
                f"{VENV}/{site_rel}", env_entry.name, frames, Bundle(env_entry).venv / site_rel
            ),
        ),
    )


def _write_beside(ctx: Context, cfg: PackConfig, dest: Path, sbom: bytes) -> Path | None:
    """The SBOM beside the archive `dest`, and the signature when a key is configured;
    returns the signature. On failure the archive goes too."""
    signature = None
    try:
        atomic_write_bytes(sidecar_path(dest), sbom)
        if cfg.sign_key is not None:
            ctx.reporter.step(f"Signing {dest.name} with {cfg.sign_key}")
            signature = sign_archive(dest, cfg.sign_key)
    except BaseException:
        _remove_artifact(dest)
        raise
    return signature


def _publish(
    ctx: Context, cfg: PackConfig, channel: Path, done: TargetArtifact, version: str, epoch: int
) -> TargetArtifact:
    from .channel import publish  # only with --channel; it loads the stub's fetcher

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
    installed: Sequence[InstalledDistribution] | None = None,
) -> bytes:
    a = runtime.archive
    project = read_pyproject(cfg.project_dir)[1].get("project", {})
    return render_sbom(
        plan_for_bundle(
            root=root,
            site=site_packages(Bundle(root).venv, runtime),
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
            installed=installed,
        )
    )
