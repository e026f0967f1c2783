"""`pack run [PROJECT_DIR] [--python] -- ARGS...`: the project's entry point (or, with
--python, any command) in its cached environment, without making an archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ..config import load_config
from ..run import RunOptions, run_project
from ._app import app, state

_ARGS = "pack_run_args"


class _RunCommand(TyperCommand):
    """Everything after `--` belongs to the command that is run, never to pack: without this
    a first word after `--` would be taken as PROJECT_DIR."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--" in args:
            i = args.index("--")
            ctx.meta[_ARGS] = args[i + 1 :]
            args = args[:i]
        return super().parse_args(ctx, args)


@app.command(
    "run",
    cls=_RunCommand,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def run_command(
    context: typer.Context,
    project_dir: Annotated[
        Path, typer.Argument(help="The project (with pyproject.toml and a lock).")
    ] = Path(),
    python_mode: Annotated[
        bool,
        typer.Option(
            "--python",
            help="Run ARGS as a command (default: python) in the environment, instead of the app.",
        ),
    ] = False,
    entry: Annotated[
        str | None,
        typer.Option("--entry", help="The console script to run [default: the first entry point]."),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Provision the layers afresh in a temporary directory; the cache is not used.",
        ),
    ] = False,
    python_archive: Annotated[
        Path | None,
        typer.Option(
            "--python-archive", help="A python-build-standalone install_only archive to use."
        ),
    ] = None,
    extras: Annotated[
        list[str] | None,
        typer.Option("--extra", help="An extra of the project to include; repeatable."),
    ] = None,
    groups: Annotated[
        list[str] | None, typer.Option("--group", help="A dependency group to include; repeatable.")
    ] = None,
    allow_unhashed: Annotated[
        bool, typer.Option("--allow-unhashed", help="Accept requirements.txt lines without --hash.")
    ] = False,
    find_links: Annotated[
        list[Path] | None,
        typer.Option("--find-links", help="A directory of wheels to take locked files from."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Fetch nothing; use the cache, --find-links and --python-archive."
        ),
    ] = False,
) -> None:
    """Run the app (or, with --python, any command) in its environment: pack run [DIR] -- ARGS."""
    if python_mode and entry is not None:
        raise typer.BadParameter("--entry and --python exclude each other", param_hint="--entry")
    cfg = load_config(
        project_dir,
        {
            "python-archive": str(python_archive.absolute()) if python_archive else None,
            "extras": tuple(extras or ()),
            "groups": tuple(groups or ()),
            "allow-unhashed": True if allow_unhashed else None,
        },
    )
    ctx = state.context(offline=offline)
    code = run_project(
        ctx,
        cfg,
        RunOptions(
            args=tuple(context.meta.get(_ARGS, ())),
            entry=entry,
            command=python_mode,
            refresh=refresh,
            find_links=tuple(p.absolute() for p in find_links or ()),
        ),
    )
    raise typer.Exit(code)
