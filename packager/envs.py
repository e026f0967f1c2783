"""The dependency layer: a venv with the whole lock installed and compiled, cached under a key
hashed from everything that determines it, so an unchanged lock is never installed twice."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import __version__
from . import cache as cache_mod
from .context import Context
from .install import install_files
from .lockfile import LockPlan
from .runtime import Runtime, compile_tree
from .targets import Target
from .venv import create_venv, scrub_install_records, site_packages

# Bump when the layout or the way an environment is made changes.
ENV_LAYOUT = 1


def env_key(runtime: Runtime, target: Target, plan: LockPlan) -> str:
    return cache_mod.cache_key(
        {
            "layout": ENV_LAYOUT,
            "interpreter": runtime.archive.sha256,
            "target": target.triple,
            "lock": plan.digest,
        }
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
        (tmp / "env.json").write_text(
            '{"pack": "%s", "lock": "%s", "interpreter": "%s"}\n'
            % (__version__, plan.digest, runtime.archive.sha256)
        )
        ctx.reporter.step("Compiling dependencies")
        compile_tree(venv / "bin" / "python", [site], venv, what="the locked packages", force=True)

    provisioned = cache_mod.provision(entry, build)
    return entry, provisioned
