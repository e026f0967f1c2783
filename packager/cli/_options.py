"""Options several commands share (build, run, fetch), declared once so their names, types
and help stay the same everywhere, and the config overrides they make."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProjectDir = Annotated[Path, typer.Argument(help="The project (with pyproject.toml and a lock).")]
PythonArchive = Annotated[
    list[Path] | None,
    typer.Option(
        "--python-archive",
        help="A python-build-standalone install_only archive to use; repeatable, one per "
        "target (each one's target is read from its file name).",
    ),
]
PythonRequest = Annotated[
    str | None,
    typer.Option("--python", help="Python request: 3.12, 3.12.7, 3.12.7+20241016, 3.13t."),
]
PythonMirror = Annotated[
    str | None, typer.Option("--python-mirror", help="Base URL laid out as <base>/<tag>/<file>.")
]
Extras = Annotated[
    list[str] | None,
    typer.Option("--extra", help="An extra of the project to include; repeatable."),
]
Groups = Annotated[
    list[str] | None, typer.Option("--group", help="A dependency group to include; repeatable.")
]
AllowUnhashed = Annotated[
    bool,
    typer.Option(
        "--allow-unhashed",
        help="Accept requirements.txt lines without --hash, trusting the index's digests "
        "(recorded in bundle.json).",
    ),
]
FindLinks = Annotated[
    list[Path] | None,
    typer.Option(
        "--find-links", help="A directory of wheels to take locked files from; repeatable."
    ),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline", help="Fetch nothing; use the cache, --find-links and --python-archive."
    ),
]
Refresh = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="Provision the interpreter and dependency layers afresh in a temporary directory; "
        "the cache is not used for them.",
    ),
]


def lock_overrides(
    python_archive: list[Path] | None,
    extras: list[str] | None,
    groups: list[str] | None,
    allow_unhashed: bool,
) -> dict[str, object]:
    """The [tool.pack] keys these shared options override (None: keep the file's value)."""
    return {
        "python-archive": tuple(str(p.absolute()) for p in python_archive or ()),
        "extras": tuple(extras or ()),
        "groups": tuple(groups or ()),
        "allow-unhashed": True if allow_unhashed else None,
    }


def absolute_paths(paths: list[Path] | None) -> tuple[Path, ...]:
    return tuple(p.absolute() for p in paths or ())
