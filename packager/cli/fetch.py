"""`pack fetch`: fill a wheelhouse (interpreter archives, locked files, build backend) for
one or more targets, to carry into an air gap and build there with --offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, out, state
from ._options import (
    AllowUnhashed,
    Extras,
    FindLinks,
    Groups,
    ProjectDir,
    PythonArchive,
    PythonMirror,
    PythonRequest,
    absolute_paths,
    lock_overrides,
)


@app.command("fetch")
def fetch_command(
    dest: Annotated[Path, typer.Option("--dest", help="The wheelhouse directory to fill.")],
    project_dir: ProjectDir = Path(),
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="A target triple; repeatable [default: the configured target, else this host].",
        ),
    ] = None,
    glibc: Annotated[
        str | None,
        typer.Option("--glibc", help="The glibc of linux-gnu targets, for choosing wheels."),
    ] = None,
    python_archive: PythonArchive = None,
    python: PythonRequest = None,
    python_mirror: PythonMirror = None,
    extras: Extras = None,
    groups: Groups = None,
    allow_unhashed: AllowUnhashed = False,
    find_links: FindLinks = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object listing what was fetched.")
    ] = False,
) -> None:
    """Download everything `pack build --offline --find-links DEST` needs, for each target."""
    from ..config import load_config
    from ..crossplan import parse_targets
    from ..wheelhouse import fetch_wheelhouse

    cfg = load_config(
        project_dir,
        {
            "python": python,
            "python-mirror": python_mirror,
            "glibc": glibc,
            **lock_overrides(python_archive, extras, groups, allow_unhashed),
        },
    )
    chosen = list(parse_targets(targets or cfg.targets))
    ctx = state.context()
    result = fetch_wheelhouse(ctx, cfg, chosen, dest, find_links=absolute_paths(find_links))
    state.console.close()
    if as_json:
        out(
            json.dumps(
                {
                    "dest": str(result.dest),
                    "targets": [
                        {
                            "target": t.target,
                            "interpreter": t.interpreter.name,
                            "lock": [p.name for p in t.lock_files],
                            "build": [p.name for p in t.build_files],
                        }
                        for t in result.targets
                    ],
                },
                indent=2,
            )
        )
        return
    out(str(result.dest))
    for t in result.targets:
        state.console.err.print(
            f"{t.target}: {t.interpreter.name}, {len(t.lock_files)} locked files, "
            f"{len(t.build_files)} build requirements",
            highlight=False,
        )
