"""`pack build`: make the bundle archive of a project."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, out, state
from ._options import (
    AllowUnhashed,
    Extras,
    FindLinks,
    Groups,
    Offline,
    ProjectDir,
    PythonArchive,
    PythonMirror,
    PythonRequest,
    Refresh,
    absolute_paths,
    lock_overrides,
)
from .inspect import human_size


@app.command("build")
def build_command(
    project_dir: ProjectDir = Path(),
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where the archive goes \\[default: PROJECT_DIR/dist]."),
    ] = None,
    python_archive: PythonArchive = None,
    python: PythonRequest = None,
    python_variant: Annotated[
        str | None, typer.Option("--python-variant", help="default or freethreaded.")
    ] = None,
    python_flavor: Annotated[
        str | None,
        typer.Option("--python-flavor", help="install_only_stripped (default) or install_only."),
    ] = None,
    python_mirror: PythonMirror = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="Target triple; repeatable, one archive each \\[default: this host].",
        ),
    ] = None,
    glibc: Annotated[
        str | None,
        typer.Option(
            "--glibc",
            help="The glibc of linux-gnu targets, for choosing wheels \\[default: 2.17; the "
            "host's for the host].",
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="tar.zst (default), tar.gz, tar.xz or dir.")
    ] = None,
    level: Annotated[
        int | None, typer.Option("--compression-level", help="Compression level of the archive.")
    ] = None,
    strip: Annotated[
        list[str] | None,
        typer.Option(
            "--strip",
            help="A standard-library part to leave out of the runtime, or the preset slim; "
            "repeatable; replaces [tool.pack] strip.",
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            "--compression-threads",
            min=0,
            help="Compression threads (0: all cores); the output does not depend on it.",
        ),
    ] = 0,
    find_links: FindLinks = None,
    offline: Offline = False,
    no_smoke_test: Annotated[
        bool, typer.Option("--no-smoke-test", help="Skip running the bundle before archiving it.")
    ] = False,
    extras: Extras = None,
    groups: Groups = None,
    allow_unhashed: AllowUnhashed = False,
    refresh: Refresh = False,
    sign: Annotated[
        Path | None,
        typer.Option(
            "--sign",
            help="SSH key to sign the archive with (<archive>.sig, namespace pack): a private "
            "key file, or the .pub of a key in ssh-agent \\[default: PACK_SIGN_KEY, sign-key].",
        ),
    ] = None,
    channel: Annotated[
        Path | None,
        typer.Option(
            "--channel",
            help="An update channel directory: add the archive and its files under "
            "<name>/<target>/ and point latest.json at it.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object describing the artifacts, nothing else on stdout."
        ),
    ] = False,
) -> None:
    """Build the bundle archive of PROJECT_DIR."""
    from ..build import BuildOptions, build
    from ..config import load_config

    cfg = load_config(
        project_dir,
        {
            "python": python,
            "python-variant": python_variant,
            "python-flavor": python_flavor,
            "python-mirror": python_mirror,
            "target": tuple(target or ()),
            "glibc": glibc,
            "format": fmt,
            "compression-level": level,
            "strip": strip,
            **lock_overrides(python_archive, extras, groups, allow_unhashed),
            "sign-key": _sign_key(sign),
        },
    )
    ctx = state.context(offline=offline)
    result = build(
        ctx,
        cfg,
        BuildOptions(
            out_dir=out_dir.absolute() if out_dir else None,
            find_links=absolute_paths(find_links),
            smoke_test=not no_smoke_test,
            refresh=refresh,
            compression_threads=threads,
            channel=channel.absolute() if channel else None,
        ),
    )
    state.console.close()
    if as_json:
        out(json.dumps(result.to_json(), sort_keys=True))
        return
    if state.verbosity >= 0:
        for t in result.artifacts:
            a = t.artifact
            out(f"{a.path}")
            state.console.err.print(
                f"built {result.name} {result.version} for {t.target} from {result.lock}: "
                f"{human_size(a.size)}, "
                f"sha256 {a.sha256}; smoke test {t.smoke_test}",
                highlight=False,
            )
            if t.signature is not None:
                state.console.err.print(f"signed: {t.signature}", highlight=False)
            if t.channel is not None:
                state.console.err.print(f"published: {t.channel}", highlight=False)
        state.console.err.print(
            f"{result.seconds:.1f}s; launchers: {', '.join(result.entry_points)}",
            highlight=False,
        )


def _sign_key(option: Path | None) -> str | None:
    """--sign, else PACK_SIGN_KEY (CI passes a key file that way), else the config's."""
    env = os.environ.get("PACK_SIGN_KEY")
    given = option or (Path(env) if env else None)
    return str(given.absolute()) if given else None
