"""`pack run`: the project's entry point (or any command) in its cached layers without making
an archive. The project goes into a throwaway overlay venv whose site-packages chains to the
cached environment's, so a run costs one wheel build and never writes into the cache."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .bundle import discover_entry_points
from .config import PackConfig
from .context import Context
from .envs import Layers, plan_environment, provision_layers
from .errors import ConfigError
from .install import build_wheel, install_files
from .launcher import EntryPoint, python_code
from .locks import find_lock
from .targets import host_target
from .venv import create_venv, site_packages


@dataclass(frozen=True)
class RunOptions:
    args: tuple[str, ...] = ()
    entry: str | None = None  # None: the first of [tool.pack] entry-points / [project.scripts]
    command: bool = False  # `--python`: args are a command (default `python`), not app args
    refresh: bool = False
    find_links: tuple[Path, ...] = ()


def overlay_venv(root: Path, layers: Layers) -> Path:
    """`root/venv`, laid out like a bundle's (bin/python -> ../../python/bin/pythonX.Y, and
    `root/python` -> the cached runtime), whose site-packages adds the cached environment's
    with `site.addsitedir` (so its .pth files work too). The environment's console scripts
    are copied, not linked: their relocatable shebangs then run this venv's python."""
    (root / "python").symlink_to(layers.runtime.home)
    venv = root / "venv"
    create_venv(venv, layers.runtime)
    env_venv = layers.env / "venv"
    env_site = site_packages(env_venv, layers.runtime)
    (site_packages(venv, layers.runtime) / "_pack_run_env.pth").write_text(
        f"import site; site.addsitedir({str(env_site)!r})\n", encoding="utf-8"
    )
    for script in sorted((env_venv / "bin").iterdir()):
        target = venv / "bin" / script.name
        if script.is_file() and not script.is_symlink() and not target.exists():
            target.write_bytes(script.read_bytes())
            target.chmod(0o755)
    return venv


def _entry_point(cfg: PackConfig, sites: Sequence[Path], wanted: str | None) -> EntryPoint:
    available: dict[str, EntryPoint] = {}
    for site in sites:
        for name, ep in discover_entry_points(site).items():
            available.setdefault(name, ep)
    listing = ", ".join(sorted(available)) or "none"
    if wanted is not None:
        if wanted not in available:
            raise ConfigError(
                f"--entry {wanted}: no console script of that name is installed; available: "
                f"{listing}"
            )
        return available[wanted]
    names = list(cfg.entry_points or cfg.project_scripts)
    if not names:
        raise ConfigError(
            f"{cfg.pyproject}: nothing to run: no [tool.pack] entry-points nor "
            f"[project.scripts]; pass --entry NAME (available: {listing}) or --python"
        )
    if names[0] not in available:
        raise ConfigError(
            f"{cfg.pyproject}: no console script named {names[0]!r} is installed; available: "
            f"{listing}"
        )
    return available[names[0]]


def _environ(ctx: Context, cfg: PackConfig, root: Path, venv: Path) -> dict[str, str]:
    """The launcher's environment, as a bundle at `root` would set it."""
    env = dict(ctx.environ)
    env.pop("PYTHONHOME", None)
    if cfg.isolated:
        env.pop("PYTHONPATH", None)
    env.update(cfg.env)
    dirs = [str(venv / "bin"), *(str(root / p.strip("/")) for p in cfg.prepend_path)]
    env["PATH"] = os.pathsep.join([*dirs, *([env["PATH"]] if env.get("PATH") else [])])
    env["VIRTUAL_ENV"] = str(venv)
    return env


@contextlib.contextmanager
def _interrupts_to_child() -> Iterator[None]:
    """While the child runs, Ctrl-C is its to handle (the terminal sends it to both); pack
    waits for its exit status instead of dying first."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_project(ctx: Context, cfg: PackConfig, options: RunOptions) -> int:
    """Run the project's entry point (or `options.args` as a command) in its environment on
    this host; returns the exit status (128 + N for a child killed by signal N). The child
    inherits stdin, stdout and stderr."""
    target = host_target()
    lock = find_lock(cfg.project_dir, cfg.lock)
    from .build import local_extra_wheels, local_package_wheels, obtain_interpreter_archive

    archive = obtain_interpreter_archive(ctx, cfg, target)
    plan = plan_environment(ctx, cfg, lock, target, archive, find_links=options.find_links)
    with tempfile.TemporaryDirectory(prefix="pack-run-") as tmp:
        root = Path(tmp)
        ephemeral = None
        if options.refresh:
            ephemeral = root / "layers"
            ephemeral.mkdir()
        layers = provision_layers(
            ctx, archive, target, plan, find_links=options.find_links, ephemeral=ephemeral
        )
        files: list[Path] = []
        if cfg.has_build_system:
            ctx.reporter.step(f"Building the wheel of {cfg.name}")
            files.append(
                build_wheel(
                    ctx,
                    cfg.project_dir,
                    root / "wheel",
                    layers.runtime.exe,
                    find_links=options.find_links,
                )
            )
        files += local_package_wheels(
            ctx, cfg, plan, root, layers.runtime, find_links=options.find_links
        )[0]
        files += local_extra_wheels(ctx, cfg, root, layers.runtime, find_links=options.find_links)
        app = root / "app"
        app.mkdir()
        venv = overlay_venv(app, layers)
        install_files(ctx, venv / "bin" / "python", files, what="installing the project to run it")
        if options.command:
            argv = list(options.args) or ["python"]
            label = argv[0]
        else:
            sites = [
                site_packages(venv, layers.runtime),
                site_packages(layers.env / "venv", layers.runtime),
            ]
            ep = _entry_point(cfg, sites, options.entry)
            flags = ["-I"] if cfg.isolated else ["-P", "-s"]
            python = str(venv / "bin" / "python")
            argv = [python, *flags, "-c", python_code(ep), ep.name, *options.args]
            label = ep.name
        ctx.reporter.step(f"Running {label}")
        env = _environ(ctx, cfg, app, venv)
        try:
            with _interrupts_to_child():
                code = subprocess.run(argv, env=env, cwd=Path.cwd(), check=False).returncode
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{argv[0]}: command not found in the run environment (PATH starts with "
                f"{venv / 'bin'}); check its name"
            ) from exc
    return 128 - code if code < 0 else code
