"""`pack run`: the project's entry point (or any command) in its cached layers without making
an archive. The project goes into a throwaway overlay venv whose site-packages chains to the
cached environment's, so a run costs one wheel build and never writes into the cache."""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pack_runtime.layout import Bundle

from .appwheels import local_extra_wheels, local_package_wheels
from .buildenvs import build_wheel
from .bundle import discover_entry_points, select_entry_points
from .config import PackConfig
from .context import Context
from .envs import Layers, provision_layers
from .errors import ConfigError
from .launcher import Launchable, LauncherSettings, python_code
from .locks import find_lock
from .plan import classify_extras, launcher_settings, plan_target, plan_target_lock
from .targets import host_target
from .uvtool import install_files
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
    overlay = Bundle(root)
    overlay.python_home.symlink_to(layers.runtime.home)
    venv = overlay.venv
    create_venv(venv, layers.runtime)
    env_venv = Bundle(layers.env).venv
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


def _entry_point(cfg: PackConfig, sites: Sequence[Path], wanted: str | None) -> Launchable:
    available: dict[str, Launchable] = {}
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
    return select_entry_points(
        available,
        cfg.entry_points,
        cfg.project_scripts,
        cfg.pyproject,
        otherwise="; or pass --entry NAME or --python",
    )[0]


def _environ(ctx: Context, settings: LauncherSettings, root: Path, venv: Path) -> dict[str, str]:
    """The launcher's environment, as a bundle at `root` would set it, with the run's venv
    first on PATH and as VIRTUAL_ENV."""
    env = settings.environ(ctx.environ, root, first=[venv / "bin"])
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _wait_passing_signals(child: subprocess.Popen[bytes]) -> int:
    """Wait for `child` and return its exit status. Ctrl-C is its to handle (the terminal
    sends SIGINT to both): pack ignores it meanwhile instead of dying first. SIGTERM and
    SIGHUP, which are sent to pack alone (`kill`, a CI timeout, a closed session), are passed
    on to the child, whose exit status then is pack's."""

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    handlers = (
        (signal.SIGINT, signal.SIG_IGN),
        (signal.SIGTERM, forward),
        (signal.SIGHUP, forward),
    )
    previous = [(signum, signal.signal(signum, handler)) for signum, handler in handlers]
    try:
        return child.wait()
    finally:
        for signum, handler in previous:
            signal.signal(signum, handler)


def run_project(ctx: Context, cfg: PackConfig, options: RunOptions) -> int:
    """Run the project's entry point (or `options.args` as a command) in its environment on
    this host; returns the exit status (128 + N for a child killed by signal N). The child
    inherits stdin, stdout and stderr."""
    target = host_target()
    lock = find_lock(cfg.project_dir, cfg.lock)
    extras = classify_extras(cfg)
    tp = plan_target(ctx, cfg, target)
    archive = tp.archive
    plan = plan_target_lock(ctx, cfg, lock, tp, options.find_links)
    settings = launcher_settings(cfg, archive)
    with tempfile.TemporaryDirectory(prefix="pack-run-") as tmp:
        root = Path(tmp)
        ephemeral = None
        if options.refresh:
            ephemeral = root / "layers"
            ephemeral.mkdir()
        layers = provision_layers(
            ctx,
            archive,
            target,
            plan,
            find_links=options.find_links,
            ephemeral=ephemeral,
            strip=cfg.strip,
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
        files += local_extra_wheels(
            ctx, extras, root, layers.runtime, find_links=options.find_links
        )
        app = root / "app"
        app.mkdir()
        venv = overlay_venv(app, layers)
        venv_python = Bundle(app).venv_python
        install_files(ctx, venv_python, files, what="installing the project to run it")
        if options.command:
            argv = list(options.args) or ["python"]
            label = argv[0]
        else:
            sites = [
                site_packages(venv, layers.runtime),
                site_packages(Bundle(layers.env).venv, layers.runtime),
            ]
            ep = _entry_point(cfg, sites, options.entry)
            python = str(venv_python)
            argv = [python, *settings.python_flags, "-c", python_code(ep), ep.name, *options.args]
            label = ep.name
        ctx.reporter.step(f"Running {label}")
        env = _environ(ctx, settings, app, venv)
        try:
            # Started before pack changes its own signal handling: an ignored SIGINT would be
            # inherited, and a Python child would then ignore Ctrl-C.
            child = subprocess.Popen(argv, env=env, cwd=Path.cwd())
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{argv[0]}: command not found in the run environment (PATH starts with "
                f"{venv / 'bin'}); check its name"
            ) from exc
        code = _wait_passing_signals(child)
    return 128 - code if code < 0 else code
