"""The dependency layer: a venv with the whole lock installed and compiled, cached under a key
hashed from everything that determines it, so an unchanged lock is never installed twice; and
the plan of that layer for a target, shared by build, run and fetch."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.pylock import Pylock

from pack_runtime.layout import Bundle

from . import __version__
from . import cache as cache_mod
from .config import PackConfig
from .context import Context
from .crossplan import TargetEnvironment, target_environment, unusable_error, unusable_packages
from .errors import BuildError
from .locks import LockPlan, LockSource, plan_lock
from .pythons import InterpreterArchive
from .runtime import Runtime, compile_tree, provision_runtime
from .strip import DEFAULT_STRIP, DEFERRED
from .targets import Target
from .timings import StepTimer
from .uvtool import install_files, uv_bin, uv_version
from .venv import create_venv, scrub_install_records, site_packages
from .wheels import obtain_all

# Bump when the layout or the way an environment is made changes.
ENV_LAYOUT = 1


def env_key(
    runtime: Runtime, target: Target, plan: LockPlan, builder: Runtime | None = None
) -> str:
    """Everything that decides the environment's bytes: the interpreter, the target, exactly
    which files are installed (not the lock's formatting), the installer and pack's layout
    (and the host interpreter that installed and compiled it, for a cross build)."""
    key: dict[str, object] = {
        "layout": ENV_LAYOUT,
        "interpreter": runtime.archive.sha256,
        "target": target.triple,
        "lock": plan.digest,
        "installer": f"uv {uv_version()}",
    }
    if builder is not None:
        key["builder"] = builder.archive.sha256
    return cache_mod.cache_key(key)


def plan_environment(
    ctx: Context,
    cfg: PackConfig,
    lock: LockSource,
    target: Target,
    archive: InterpreterArchive,
    *,
    find_links: Sequence[Path] = (),
    env: TargetEnvironment | None = None,
    sdist_ok: bool = True,
) -> LockPlan:
    """The files of `lock` that `target` needs with `archive`'s interpreter: markers
    evaluated for that target and wheels chosen by its tags (`env`, default: the target's
    policy), with the configured extras and groups. Packages with no usable file are listed
    in one error; without `sdist_ok` (a target this host does not run) a package only an
    sdist serves is one of them."""
    env = env or target_environment(target, archive)
    ctx.reporter.step(f"Reading {lock.path.name}" + (f" for {target}" if not sdist_ok else ""))

    def check(pylock: Pylock, extras: Sequence[str], groups: Sequence[str] | None) -> None:
        problems = unusable_packages(
            pylock,
            environment=env.markers,
            tags=env.tags,
            extras=extras,
            groups=groups,
            sdist_ok=sdist_ok,
        )
        if problems:
            raise unusable_error(lock.path, target, env.glibc, problems)

    plan = plan_lock(
        lock,
        uv=uv_bin(),
        environment=env.markers,
        tags=env.tags,
        extras=cfg.extras,
        groups=cfg.groups,
        ctx=ctx,
        find_links=find_links,
        allow_unhashed=cfg.allow_unhashed,
        project_dir=cfg.project_dir,
        check=check,
    )
    if not sdist_ok:
        sdists = [
            f"{a.name} {a.version or ''} (only its source distribution {a.filename} fits; "
            "building it would build for the host)"
            for a in plan.artifacts
            if a.kind != "wheel"
        ]
        if sdists:
            raise unusable_error(lock.path, target, env.glibc, sdists)
    return plan


def check_same_layout(runtime: Runtime, builder: Runtime) -> None:
    """A builder stands in for the target's interpreter behind the venv's relative symlink,
    so both must have the same executable and standard library names."""
    if (builder.exe_name, builder.stdlib_name) != (runtime.exe_name, runtime.stdlib_name):
        raise BuildError(
            f"{builder.archive.filename} (bin/{builder.exe_name}, lib/{builder.stdlib_name}) "
            f"cannot stand in for {runtime.archive.filename} (bin/{runtime.exe_name}, "
            f"lib/{runtime.stdlib_name}); pass a host interpreter of the same version with "
            "--python-archive"
        )


def provision_env(
    ctx: Context,
    runtime: Runtime,
    target: Target,
    plan: LockPlan,
    files: Sequence[Path],
    *,
    builder: Runtime | None = None,
    python_platform: str | None = None,
) -> tuple[Path, bool]:
    """The cached environment entry (`<entry>/venv`, with `<entry>/python` pointing at the
    runtime) for `plan`; returns it and whether this call provisioned it. With `builder` (a
    host interpreter of the same minor version), the target's interpreter never runs: the
    venv is made for the target, installed by uv for `python_platform` and compiled while
    `python` points at the builder, then `python` is pointed at the target's runtime."""
    store = cache_mod.Cache(ctx.cache_dir)
    entry = store.entry(cache_mod.ENVS, env_key(runtime, target, plan, builder))
    if builder is not None:
        check_same_layout(runtime, builder)

    def build(tmp: Path) -> None:
        ctx.reporter.step(f"Installing {len(files)} locked packages")
        laid_out = Bundle(tmp)  # python/ and venv/ as a bundle has them
        laid_out.python_home.symlink_to((builder or runtime).home)
        venv = laid_out.venv
        create_venv(venv, runtime)
        install_files(
            ctx,
            laid_out.venv_python,
            files,
            what="installing the lock",
            python_platform=python_platform,
        )
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
        compile_tree(laid_out.venv_python, [site], venv, what="the locked packages")
        if builder is not None:
            laid_out.python_home.unlink()
            laid_out.python_home.symlink_to(runtime.home)

    provisioned = cache_mod.provision(entry, build)
    return entry, provisioned


@dataclass(frozen=True)
class Layers:
    """The two cached layers a bundle (or `pack run`) starts from."""

    runtime: Runtime
    env: Path  # the environment entry; its venv is env / "venv"
    provisioned: Mapping[str, bool]  # {"runtime": ..., "environment": ...}: made by this call
    builder: Runtime | None = None  # the host interpreter that stands in for a cross target's


def provision_layers(
    ctx: Context,
    archive: InterpreterArchive,
    target: Target,
    plan: LockPlan,
    *,
    find_links: Sequence[Path] = (),
    ephemeral: Path | None = None,
    builder: InterpreterArchive | None = None,
    python_platform: str | None = None,
    timer: StepTimer | None = None,
    strip: Sequence[str] = DEFAULT_STRIP,
) -> Layers:
    """The runtime and dependency layers for `plan`, from the cache or provisioned into it.
    With `ephemeral` (an empty directory the caller removes afterwards: `--refresh`), both
    are provisioned there instead, nothing cached is used for them, and every cached
    download is hashed again before use. With `builder`, a host interpreter installs and
    compiles both layers (see provision_env); its runtime is in `Layers.builder`. `strip`:
    the parts the bundle leaves out (the runtime compiles the deferred ones it keeps)."""
    layer_ctx = dataclasses.replace(ctx, cache_dir=ephemeral) if ephemeral is not None else ctx
    # Files first: a file missing offline fails the build before the slow runtime step.
    files = obtain_all(ctx, plan.artifacts, find_links, verify=ephemeral is not None)
    if timer is not None:
        timer.lap("fetch")
    host = provision_runtime(layer_ctx, builder) if builder is not None else None
    keep = [name for name in DEFERRED if name not in strip]
    runtime = provision_runtime(layer_ctx, archive, compiler=host.exe if host else None, keep=keep)
    entry, env_new = provision_env(
        layer_ctx, runtime, target, plan, files, builder=host, python_platform=python_platform
    )
    return Layers(
        runtime, entry, {"runtime": runtime.provisioned, "environment": env_new}, builder=host
    )
