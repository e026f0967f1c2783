"""`pack run [PROJECT_DIR] [--python] -- ARGS...`: the project's entry point (or, with
--python, any command) in its cached environment, without making an archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ._app import app, state
from ._options import (
    AllowUnhashed,
    Extras,
    FindLinks,
    Groups,
    Offline,
    ProjectDir,
    PythonArchive,
    Refresh,
    absolute_paths,
    lock_overrides,
)

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
    project_dir: ProjectDir = Path(),
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
    refresh: Refresh = False,
    python_archive: PythonArchive = None,
    extras: Extras = None,
    groups: Groups = None,
    allow_unhashed: AllowUnhashed = False,
    find_links: FindLinks = None,
    offline: Offline = False,
) -> None:
    """Run the app (or, with --python, any command) in its environment: pack run [DIR] -- ARGS."""
    if python_mode and entry is not None:
        raise typer.BadParameter("--entry and --python exclude each other", param_hint="--entry")
    from ..config import load_config
    from ..run import RunOptions, run_project

    cfg = load_config(
        project_dir,
        {
            **lock_overrides(python_archive, extras, groups, allow_unhashed),
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
            find_links=absolute_paths(find_links),
        ),
    )
    raise typer.Exit(code)
