"""`pack build` as one orchestration: plan (config, interpreter, lock) then execute (cached
runtime and dependency layers, the app layer, launchers, metadata, smoke test, archive). Each
step lives in its own module; this one only decides the order and what is staged where."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from pack_runtime.filelist import write_files_list

from . import workdirs
from ._fs import remove_tree
from .archive import ArchiveOptions, Artifact, mtime_from_env, write_archive
from .bundle import (
    add_runtime_stub,
    discover_entry_points,
    install_app_layer,
    select_entry_points,
    smoke_test,
    stage_layers,
    write_launchers,
)
from .config import PackConfig
from .context import Context
from .envs import plan_environment, provision_layers
from .errors import ConfigError
from .install import build_wheel
from .launcher import EntryPoint, LauncherSettings
from .lockfile import LockPlan, find_lock
from .manifest import BuildInfo, BundleManifest, LockRef, PythonBuild
from .manifest import EntryPoint as ManifestEntryPoint
from .pythons import PIN_FILE, InterpreterArchive, obtain_interpreter
from .runtime import Runtime
from .strip import apply_strip
from .targets import Target, can_run_on_host, host_target, parse_target
from .venv import site_packages


@dataclass(frozen=True)
class BuildOptions:
    out_dir: Path | None = None
    find_links: tuple[Path, ...] = ()
    smoke_test: bool = True
    refresh: bool = False  # provision the layers afresh in the staging dir; the cache is not used
    compression_threads: int = 0  # 0: all cores; the archive bytes do not depend on it


@dataclass(frozen=True)
class BuildResult:
    name: str
    version: str
    target: str
    artifact: Artifact
    entry_points: tuple[str, ...]
    seconds: float
    provisioned: dict[str, bool] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "artifacts": [
                {
                    "path": str(self.artifact.path),
                    "sha256": self.artifact.sha256,
                    "size": self.artifact.size,
                    "format": self.artifact.format,
                    "target": self.target,
                }
            ],
            "entry_points": list(self.entry_points),
            "seconds": round(self.seconds, 3),
            "provisioned": self.provisioned,
        }


def _target(cfg: PackConfig) -> Target:
    host = host_target()
    if cfg.target is None:
        return host
    target = parse_target(cfg.target)
    if target.os != host.os or target.arch != host.arch or target.libc != host.libc:
        raise ConfigError(
            f"building for {target} on a {host} host is not supported yet: the dependency "
            "layer is installed and smoke-tested with the target's own interpreter; build on a "
            f"{target} machine"
        )
    return target


def obtain_interpreter_archive(ctx: Context, cfg: PackConfig, target: Target) -> InterpreterArchive:
    """The verified interpreter archive: `python-archive`, else the pin in pack.lock, else the
    `python` request resolved and fetched (the cache makes that a no-op after the first)."""
    return obtain_interpreter(
        ctx,
        request=cfg.python,
        variant=cfg.python_variant,
        flavor=cfg.python_flavor,
        archive=cfg.python_archive,
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
) -> BundleManifest:
    a = runtime.archive
    lock_path = plan.source.path
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
            path=lock_path.relative_to(cfg.project_dir).as_posix()
            if lock_path.is_relative_to(cfg.project_dir)
            else lock_path.name,
            format=plan.source.format,
            sha256=plan.source.sha256,
        ),
        entry_points=tuple(
            ManifestEntryPoint(ep.name, ep.module, ep.attr or None, ep.distribution)
            for ep in entry_points
        ),
        build=BuildInfo.from_epoch(epoch),
        self_command=cfg.self_command,
        env=dict(cfg.env),
        prepend_path=cfg.prepend_path,
        isolated=cfg.isolated,
        strip=cfg.strip,
        allow_unhashed=cfg.allow_unhashed,
    )


def archive_name(name: str, version: str, target: Target, fmt: str) -> str:
    base = f"{name}-{version}-{target.triple}"
    return base if fmt == "dir" else f"{base}.{fmt}"


def build(ctx: Context, cfg: PackConfig, options: BuildOptions | None = None) -> BuildResult:
    options = options or BuildOptions()
    started = time.monotonic()
    out_dir = (options.out_dir or cfg.out_dir or cfg.project_dir / "dist").absolute()
    target = _target(cfg)
    epoch = mtime_from_env(ctx.environ)

    # Plan: everything that can fail on bad input fails before the slow steps.
    lock = find_lock(cfg.project_dir, cfg.lock)
    for extra in cfg.local_extra_deps:
        if not extra.exists():
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} does not exist"
            )
    archive = obtain_interpreter_archive(ctx, cfg, target)
    plan = plan_environment(ctx, cfg, lock, target, archive, find_links=options.find_links)

    # Execute. With --refresh the layers are provisioned inside the staging directory, so
    # they are removed with it and the cache is neither used nor changed for them.
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in workdirs.remove_stale(out_dir):
        ctx.reporter.detail(f"removed {stale}, left by an interrupted build")
    holding = contextlib.ExitStack()  # the work folder's lock, held until it is removed
    work = holding.enter_context(workdirs.work_dir(out_dir))
    try:
        ephemeral = work / "layers" if options.refresh else None
        if ephemeral is not None:
            ephemeral.mkdir()
        layers = provision_layers(
            ctx, archive, target, plan, find_links=options.find_links, ephemeral=ephemeral
        )
        runtime, env_entry = layers.runtime, layers.env
        provisioned = dict(layers.provisioned)
        app_files: list[Path] = []
        version = cfg.version
        if cfg.has_build_system:
            ctx.reporter.step(f"Building the wheel of {cfg.name}")
            wheel = build_wheel(
                ctx, cfg.project_dir, work / "wheel", runtime.exe, find_links=options.find_links
            )
            app_files.append(wheel)
            if version is None:
                version = wheel.name.split("-")[1]
        if version is None:
            raise ConfigError(f"{cfg.pyproject}: no version; set [project] version")
        app_files += local_extra_wheels(ctx, cfg, work, runtime, find_links=options.find_links)

        root = work / f"{cfg.name}-{version}"
        root.mkdir()
        ctx.reporter.step("Assembling the bundle")
        stage_layers(root, runtime, env_entry / "venv", hardlink=True)
        install_app_layer(ctx, root / "venv", runtime, app_files)

        available = discover_entry_points(site_packages(root / "venv", runtime))
        entry_points = select_entry_points(
            available, cfg.entry_points, cfg.project_scripts, cfg.pyproject
        )
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
        if cfg.strip:
            removed = apply_strip(root / "python", cfg.strip, runtime.stdlib_name)
            ctx.reporter.detail(f"stripped from the runtime: {', '.join(removed)}")
        manifest = bundle_manifest(cfg, version, target, runtime, plan, entry_points, epoch)
        (root / ".pack").mkdir(exist_ok=True)
        (root / ".pack" / "bundle.json").write_bytes(manifest.to_json())
        write_files_list(root)
        if options.smoke_test and can_run_on_host(target):
            ctx.reporter.step("Smoke-testing the bundle")
            smoke_test(root, entry_points)

        dest = out_dir / archive_name(cfg.name, version, target, cfg.format)
        ctx.reporter.step(f"Writing {dest.name}")
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
        )
    finally:
        remove_tree(work)
        holding.close()
    return BuildResult(
        name=cfg.name,
        version=version,
        target=target.triple,
        artifact=artifact,
        entry_points=tuple(ep.name for ep in entry_points),
        seconds=time.monotonic() - started,
        provisioned=provisioned,
    )


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
