"""Obtaining interpreters in tests: the target most tests use, `obtain_interpreter` with every
argument defaulted, a file's path in a release, and what a fetch left in the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from packager.context import Context
from packager.pythons import InterpreterArchive, obtain_interpreter
from packager.targets import Target
from tests.conftest import PbsRelease

TARGET = Target("x86_64-unknown-linux-gnu")
GNU = "x86_64-unknown-linux-gnu"


def obtain(ctx: Context, **kw: Any) -> InterpreterArchive:
    args: dict[str, Any] = {
        "request": None,
        "variant": None,
        "flavor": None,
        "archive": None,
        "target": TARGET,
        "mirror": None,
        "pin_file": None,
    }
    args.update(kw)
    return obtain_interpreter(ctx, **args)


def path_of(release: PbsRelease, file: Path) -> str:
    return f"/{release.tag}/{quote(file.name)}"


def cache_leftovers(ctx: Context) -> list[str]:
    """What the cache's downloads folder holds besides entry lock files."""
    root = ctx.cache_dir / "downloads"
    return (
        sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock"))
        if root.is_dir()
        else []
    )
