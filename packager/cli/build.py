"""`pack build`: make the bundle archive of a project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..build import BuildOptions, build
from ..config import load_config
from ._app import app, out, state
from .inspect import human_size


@app.command("build")
def build_command(
    project_dir: Annotated[
        Path, typer.Argument(help="The project (with pyproject.toml and a lock).")
    ] = Path(),
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where the archive goes \\[default: PROJECT_DIR/dist]."),
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
    python_variant: Annotated[
        str | None, typer.Option("--python-variant", help="default or freethreaded.")
    ] = None,
    python_flavor: Annotated[
        str | None,
        typer.Option("--python-flavor", help="install_only_stripped (default) or install_only."),
    ] = None,
    python_mirror: Annotated[
        str | None,
        typer.Option("--python-mirror", help="Base URL laid out as <base>/<tag>/<file>."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target triple \\[default: this host].")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="tar.zst (default), tar.gz, tar.xz or dir.")
    ] = None,
    level: Annotated[
        int | None, typer.Option("--compression-level", help="Compression level of the archive.")
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            "--compression-threads",
            min=0,
            help="Compression threads (0: all cores); the output does not depend on it.",
        ),
    ] = 0,
    find_links: Annotated[
        list[Path] | None,
        typer.Option(
            "--find-links", help="A directory of wheels to take locked files from; repeatable."
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Fetch nothing; use the cache, --find-links and --python-archive."
        ),
    ] = False,
    no_smoke_test: Annotated[
        bool, typer.Option("--no-smoke-test", help="Skip running the bundle before archiving it.")
    ] = False,
    extras: Annotated[
        list[str] | None,
        typer.Option("--extra", help="An extra of the project to include; repeatable."),
    ] = None,
    groups: Annotated[
        list[str] | None,
        typer.Option("--group", help="A dependency group to include; repeatable."),
    ] = None,
    allow_unhashed: Annotated[
        bool,
        typer.Option(
            "--allow-unhashed",
            help="Accept requirements.txt lines without --hash, trusting the index's digests "
            "(recorded in bundle.json).",
        ),
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Provision the interpreter and dependency layers afresh in a temporary "
            "directory; the cache is not used for them.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object describing the artifacts, nothing else on stdout."
        ),
    ] = False,
) -> None:
    """Build the bundle archive of PROJECT_DIR."""
    cfg = load_config(
        project_dir,
        {
            "python-archive": str(python_archive.absolute()) if python_archive else None,
            "python": python,
            "python-variant": python_variant,
            "python-flavor": python_flavor,
            "python-mirror": python_mirror,
            "target": target,
            "format": fmt,
            "compression-level": level,
            "extras": tuple(extras or ()),
            "groups": tuple(groups or ()),
            "allow-unhashed": True if allow_unhashed else None,
        },
    )
    ctx = state.context(offline=offline)
    result = build(
        ctx,
        cfg,
        BuildOptions(
            out_dir=out_dir.absolute() if out_dir else None,
            find_links=tuple(p.absolute() for p in find_links or ()),
            smoke_test=not no_smoke_test,
            refresh=refresh,
            compression_threads=threads,
        ),
    )
    state.console.close()
    if as_json:
        out(json.dumps(result.to_json(), sort_keys=True))
        return
    a = result.artifact
    if state.verbosity >= 0:
        out(f"{a.path}")
        state.console.err.print(
            f"built {result.name} {result.version} for {result.target}: {human_size(a.size)}, "
            f"sha256 {a.sha256}, {result.seconds:.1f}s; "
            f"launchers: {', '.join(result.entry_points)}",
            highlight=False,
        )
