"""`pack fetch`: fill a wheelhouse (interpreter archives, locked files, build backend) for
one or more targets, to carry into an air gap and build there with --offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..config import load_config
from ..targets import host_target, parse_target
from ..wheelhouse import fetch_wheelhouse
from ._app import app, out, state


@app.command("fetch")
def fetch_command(
    dest: Annotated[Path, typer.Option("--dest", help="The wheelhouse directory to fill.")],
    project_dir: Annotated[
        Path, typer.Argument(help="The project (with pyproject.toml and a lock).")
    ] = Path(),
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="A target triple; repeatable [default: the configured target, else this host].",
        ),
    ] = None,
    python_archive: Annotated[
        Path | None,
        typer.Option(
            "--python-archive", help="A python-build-standalone install_only archive to use."
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help="Python request: 3.12, 3.12.7, 3.12.7+20241016, 3.13t."),
    ] = None,
    python_mirror: Annotated[
        str | None,
        typer.Option("--python-mirror", help="Base URL laid out as <base>/<tag>/<file>."),
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object listing what was fetched.")
    ] = False,
) -> None:
    """Download everything `pack build --offline --find-links DEST` needs, for each target."""
    cfg = load_config(
        project_dir,
        {
            "python-archive": str(python_archive.absolute()) if python_archive else None,
            "python": python,
            "python-mirror": python_mirror,
            "extras": tuple(extras or ()),
            "groups": tuple(groups or ()),
            "allow-unhashed": True if allow_unhashed else None,
        },
    )
    chosen = [parse_target(t) for t in targets or ()]
    if not chosen:
        chosen = [parse_target(cfg.target) if cfg.target else host_target()]
    ctx = state.context()
    result = fetch_wheelhouse(
        ctx, cfg, chosen, dest, find_links=tuple(p.absolute() for p in find_links or ())
    )
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
