"""`pack build`: make the bundle archive of a project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..build import BuildOptions, build
from ..config import load_config
from ._app import app, out, state
from .inspect import human_size


@app.command("build")
def build_command(
    project_dir: Path = typer.Argument(Path("."), help="The project (with pyproject.toml and a lock)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Where the archive goes \\[default: PROJECT_DIR/dist]."),  # noqa: UP045
    python_archive: Optional[Path] = typer.Option(None, "--python-archive", help="A python-build-standalone install_only archive to use."),  # noqa: UP045
    python: Optional[str] = typer.Option(None, "--python", help="Python request: 3.12, 3.12.7, 3.12.7+20241016, 3.13t."),  # noqa: UP045
    python_variant: Optional[str] = typer.Option(None, "--python-variant", help="default or freethreaded."),  # noqa: UP045
    python_flavor: Optional[str] = typer.Option(None, "--python-flavor", help="install_only_stripped (default) or install_only."),  # noqa: UP045
    python_mirror: Optional[str] = typer.Option(None, "--python-mirror", help="Base URL laid out as <base>/<tag>/<file>."),  # noqa: UP045
    target: Optional[str] = typer.Option(None, "--target", help="Target triple \\[default: this host]."),  # noqa: UP045
    fmt: Optional[str] = typer.Option(None, "--format", help="tar.zst (default), tar.gz, tar.xz or dir."),  # noqa: UP045
    level: Optional[int] = typer.Option(None, "--compression-level", help="Compression level of the archive."),  # noqa: UP045
    threads: int = typer.Option(0, "--compression-threads", min=0, help="Compression threads (0: all cores); the output does not depend on it."),
    find_links: list[Path] = typer.Option([], "--find-links", help="A directory of wheels to take locked files from."),  # noqa: B008
    offline: bool = typer.Option(False, "--offline", help="Fetch nothing; use the cache, --find-links and --python-archive."),
    no_smoke_test: bool = typer.Option(False, "--no-smoke-test", help="Skip running the bundle before archiving it."),
    extras: list[str] = typer.Option([], "--extra", help="An extra of the project to include (uv.lock, pylock.toml); repeatable."),  # noqa: B008
    groups: list[str] = typer.Option([], "--group", help="A dependency group to include (uv.lock, pylock.toml); repeatable."),  # noqa: B008
    allow_unhashed: bool = typer.Option(False, "--allow-unhashed", help="Accept requirements.txt lines without --hash, trusting the index's digests (recorded in bundle.json)."),
    refresh: bool = typer.Option(False, "--refresh", help="Provision the interpreter and dependency layers afresh in a temporary directory; the cache is not used for them."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object describing the artifacts, nothing else on stdout."),
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
            "extras": tuple(extras),
            "groups": tuple(groups),
            "allow-unhashed": True if allow_unhashed else None,
        },
    )
    ctx = state.context(offline=offline)
    result = build(
        ctx,
        cfg,
        BuildOptions(
            out_dir=out_dir.absolute() if out_dir else None,
            find_links=tuple(p.absolute() for p in find_links),
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
            f"sha256 {a.sha256}, {result.seconds:.1f}s; launchers: {', '.join(result.entry_points)}",
            highlight=False,
        )
