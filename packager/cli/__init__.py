"""The `pack` command line: one module per command (group), the typer app in `_main`.

This module stays small: `pack --version` answers without importing typer or any of the
library, and every other command line loads the typer app and only the command it names."""

from __future__ import annotations

import sys

from .. import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pack` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        sys.stdout.write(f"pack {__version__}\n")
        return 0
    from ._main import main as run

    return run(args)
