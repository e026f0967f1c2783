"""The dependency layer: a venv with the whole lock installed and compiled, cached under a key
hashed from everything that determines it, so an unchanged lock is never installed twice; and
the plan of that layer for a target, shared by build, run and fetch."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__
from . import cache as cache_mod
from .config import PackConfig
from .context import Context
from .install import install_files, uv_bin
from .lockfile import LockPlan, LockSource, plan_lock
from .pythons import InterpreterArchive
from .runtime import Runtime, compile_tree, provision_runtime
from .targets import Target, host_glibc, host_target, marker_environment, supported_tags
from .venv import create_venv, scrub_install_records, site_packages
from .wheels import obtain_all

# Bump when the layout or the way an environment is made changes.
ENV_LAYOUT = 1


def _uv_version() -> str:
    try:
        return metadata.version("uv")
    except metadata.PackageNotFoundError:
        return "unknown"


def env_key(runtime: Runtime, target: Target, plan: LockPlan) -> str:
    """Everything that decides the environment's bytes: the interpreter, the target, exactly
    which files are installed (not the lock's formatting), the installer and pack's layout."""
    return cache_mod.cache_key(
        {
            "layout": ENV_LAYOUT,
            "interpreter": runtime.archive.sha256,
            "target": target.triple,
            "lock": plan.digest,
            "installer": f"uv {_uv_version()}",
        }
    )


def plan_environment(
    ctx: Context,
    cfg: PackConfig,
    lock: LockSource,
    target: Target,
    archive: InterpreterArchive,
    *,
    find_links: Sequence[Path] = (),
) -> LockPlan:
    """The files of `lock` that `target` needs with `archive`'s interpreter: markers
    evaluated for that target and wheels chosen by its tags, with the configured extras and
    groups."""
    ctx.reporter.step(f"Reading {lock.path.name}")
    return plan_lock(
        lock,
        uv=uv_bin(),
        environment=marker_environment(target, archive.version, freethreaded=archive.freethreaded),
        tags=supported_tags(
            target,
            archive.minor,
            freethreaded=archive.freethreaded,
            glibc=host_glibc() if target == host_target() else None,
        ),
        extras=cfg.extras,
        groups=cfg.groups,
        ctx=ctx,
        find_links=find_links,
        allow_unhashed=cfg.allow_unhashed,
        project_dir=cfg.project_dir,
    )


def provision_env(
    ctx: Context, runtime: Runtime, target: Target, plan: LockPlan, files: Sequence[Path]
) -> tuple[Path, bool]:
    """The cached environment entry (`<entry>/venv`, with `<entry>/python` pointing at the
    runtime) for `plan`; returns it and whether this call provisioned it."""
    store = cache_mod.Cache(ctx.cache_dir)
    entry = store.entry(cache_mod.ENVS, env_key(runtime, target, plan))

    def build(tmp: Path) -> None:
        ctx.reporter.step(f"Installing {len(files)} locked packages")
        (tmp / "python").symlink_to(runtime.home)
        venv = tmp / "venv"
        create_venv(venv, runtime)
        install_files(ctx, venv / "bin" / "python", files, what="installing the lock")
        site = site_packages(venv, runtime)
        scrub_install_records(site)
        info = {
            "pack": __version__,
            "lock": plan.digest,
            "lock_file": str(plan.source.path),
            "interpreter": runtime.archive.sha256,
            "target": target.triple,
            "packages": [f"{a.name}=={a.version}" for a in plan.artifacts],
        }
        (tmp / "env.json").write_text(json.dumps(info, indent=1) + "\n")
        ctx.reporter.step("Compiling dependencies")
        compile_tree(venv / "bin" / "python", [site], venv, what="the locked packages")

    provisioned = cache_mod.provision(entry, build)
    return entry, provisioned


@dataclass(frozen=True)
class Layers:
    """The two cached layers a bundle (or `pack run`) starts from."""

    runtime: Runtime
    env: Path  # the environment entry; its venv is env / "venv"
    provisioned: Mapping[str, bool]  # {"runtime": ..., "environment": ...}: made by this call


def provision_layers(
    ctx: Context,
    archive: InterpreterArchive,
    target: Target,
    plan: LockPlan,
    *,
    find_links: Sequence[Path] = (),
    ephemeral: Path | None = None,
) -> Layers:
    """The runtime and dependency layers for `plan`, from the cache or provisioned into it.
    With `ephemeral` (an empty directory the caller removes afterwards: `--refresh`), both
    are provisioned there instead, nothing cached is used for them, and every cached
    download is hashed again before use."""
    layer_ctx = dataclasses.replace(ctx, cache_dir=ephemeral) if ephemeral is not None else ctx
    # Files first: a file missing offline fails the build before the slow runtime step.
    files = obtain_all(ctx, plan.artifacts, find_links, verify=ephemeral is not None)
    runtime = provision_runtime(layer_ctx, archive)
    entry, env_new = provision_env(layer_ctx, runtime, target, plan, files)
    return Layers(runtime, entry, {"runtime": runtime.provisioned, "environment": env_new})
