"""`pack build` as one orchestration: plan (config, interpreter, lock) then execute (cached
runtime and dependency layers, the app layer, launchers, metadata, smoke test, archive). Each
step lives in its own module; this one only decides the order and what is staged where."""

from __future__ import annotations

import datetime
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from ._fs import remove_tree
from .archive import Artifact, ArchiveOptions, mtime_from_env, write_archive
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
from .envs import provision_env
from .errors import BuildError, ConfigError
from .install import build_wheel, uv_bin
from .launcher import EntryPoint
from .lockfile import LockPlan, find_lock, plan_lock
from .pythons import InterpreterArchive, local_archive
from .runtime import Runtime, provision_runtime
from .targets import Target, host_glibc, host_target, marker_environment, parse_target, supported_tags
from .venv import relative_symlinks_only, site_packages

from pack_runtime.filelist import write_files_list  # noqa: E402  (stdlib-only, shipped in bundles)


@dataclass(frozen=True)
class BuildOptions:
    out_dir: Path | None = None
    find_links: tuple[Path, ...] = ()
    smoke_test: bool = True


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
    if cfg.python_archive is not None:
        archive = local_archive(cfg.python_archive)
        if archive.triple.split("-", 1)[1] != target.triple.split("-", 1)[1] or archive.triple.split("-")[0].split("_v")[0] != target.arch:
            raise ConfigError(
                f"{cfg.python_archive.name} is for {archive.triple}, but the target is {target}"
            )
        return archive
    raise ConfigError(
        "no interpreter: pass --python-archive FILE (a python-build-standalone install_only "
        "archive) or set [tool.pack] python-archive"
    )


def _build_time(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bundle_metadata(
    cfg: PackConfig,
    version: str,
    target: Target,
    runtime: Runtime,
    plan: LockPlan,
    entry_points: list[EntryPoint],
    epoch: int,
) -> dict[str, object]:
    a = runtime.archive
    return {
        "schema": 1,
        "name": cfg.name,
        "version": version,
        "target": target.triple,
        "python": {
            "version": a.version,
            "implementation": "cpython",
            "asset": a.filename,
            "sha256": a.sha256,
            "tag": a.tag,
            "flavor": a.flavor,
            "freethreaded": a.freethreaded,
        },
        "lock": {
            "path": plan.source.path.relative_to(cfg.project_dir).as_posix()
            if plan.source.path.is_relative_to(cfg.project_dir)
            else plan.source.path.name,
            "format": plan.source.format,
            "sha256": plan.source.sha256,
        },
        "entry_points": [
            {"name": ep.name, "module": ep.module, "attr": ep.attr, "distribution": ep.distribution}
            for ep in entry_points
        ],
        "self_command": cfg.self_command,
        "env": dict(cfg.env),
        "prepend_path": list(cfg.prepend_path),
        "isolated": cfg.isolated,
        "strip": list(cfg.strip),
        "allow_unhashed": cfg.allow_unhashed,
        "pack_version": __version__,
        "build": {"source_date_epoch": epoch, "time": _build_time(epoch)},
    }


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
            raise ConfigError(f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} does not exist")
    archive = obtain_interpreter_archive(ctx, cfg, target)
    ctx.reporter.step(f"Reading {lock.path.name}")
    plan = plan_lock(
        lock,
        uv=uv_bin(),
        environment=marker_environment(target, archive.version, freethreaded=archive.freethreaded),
        tags=supported_tags(
            target, archive.minor, freethreaded=archive.freethreaded,
            glibc=host_glibc() if target == host_target() else None,
        ),
        extras=cfg.extras,
        groups=cfg.groups,
    )

    # Execute.
    provisioned: dict[str, bool] = {}
    runtime_existed = (ctx.cache_dir / "pythons" / archive.sha256 / ".provisioned").is_file()
    runtime = provision_runtime(ctx, archive)
    provisioned["runtime"] = not runtime_existed
    from .wheels import obtain_all

    files = obtain_all(ctx, plan.artifacts, options.find_links)
    env_entry, provisioned["environment"] = provision_env(ctx, runtime, target, plan, files)

    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".pack-build-", dir=out_dir))
    try:
        app_files: list[Path] = []
        version = cfg.version
        if cfg.has_build_system:
            ctx.reporter.step(f"Building the wheel of {cfg.name}")
            wheel = build_wheel(ctx, cfg.project_dir, work / "wheel", runtime.exe)
            app_files.append(wheel)
            if version is None:
                version = wheel.name.split("-")[1]
        if version is None:
            raise ConfigError(f"{cfg.pyproject}: no version; set [project] version")
        app_files += _local_extras(ctx, cfg, work, runtime)

        root = work / f"{cfg.name}-{version}"
        root.mkdir()
        ctx.reporter.step("Assembling the bundle")
        stage_layers(root, runtime, env_entry / "venv", hardlink=True)
        install_app_layer(ctx, root / "venv", runtime, app_files)

        available = discover_entry_points(site_packages(root / "venv", runtime))
        entry_points = select_entry_points(available, cfg.entry_points, cfg.project_scripts, cfg.pyproject)
        write_launchers(
            root,
            entry_points,
            name=cfg.name,
            version=version,
            self_command=cfg.self_command,
            env=dict(cfg.env),
            prepend_path=cfg.prepend_path,
            isolated=cfg.isolated,
            python_minor=archive.minor,
        )
        add_runtime_stub(root, runtime)
        if cfg.strip:
            from .strip import apply_strip

            apply_strip(root / "python", cfg.strip, runtime.stdlib_name)
        bad_links = relative_symlinks_only(root)
        if bad_links:
            raise BuildError(f"the bundle has absolute or escaping symlinks: {', '.join(bad_links[:5])}")
        meta = bundle_metadata(cfg, version, target, runtime, plan, entry_points, epoch)
        (root / ".pack").mkdir(exist_ok=True)
        (root / ".pack" / "bundle.json").write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        write_files_list(root)
        if options.smoke_test and target.os == host_target().os and target.arch == host_target().arch:
            ctx.reporter.step("Smoke-testing the bundle")
            smoke_test(root, entry_points)

        dest = out_dir / archive_name(cfg.name, version, target, cfg.format)
        ctx.reporter.step(f"Writing {dest.name}")
        artifact = write_archive(
            root,
            dest,
            top=root.name,
            options=ArchiveOptions(format=cfg.format, level=cfg.compression_level, mtime=epoch),
        )
    finally:
        remove_tree(work)
    return BuildResult(
        name=cfg.name,
        version=version,
        target=target.triple,
        artifact=artifact,
        entry_points=tuple(ep.name for ep in entry_points),
        seconds=time.monotonic() - started,
        provisioned=provisioned,
    )


def _local_extras(ctx: Context, cfg: PackConfig, work: Path, runtime: Runtime) -> list[Path]:
    """`local-extra-deps`: wheels as they are; project directories built into wheels."""
    out: list[Path] = []
    for i, extra in enumerate(cfg.local_extra_deps):
        if extra.is_dir():
            ctx.reporter.step(f"Building the wheel of {extra.name}")
            out.append(build_wheel(ctx, extra, work / f"extra-{i}", runtime.exe))
        elif extra.suffix == ".whl":
            out.append(extra)
        else:
            raise ConfigError(
                f"{cfg.pyproject}: [tool.pack] local-extra-deps: {extra} is neither a wheel nor "
                "a project directory"
            )
    return out
