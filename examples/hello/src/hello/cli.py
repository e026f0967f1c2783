"""Prints a greeting and a table of where the bundle runs from: proof that nothing of the build
machine or the host's Python is involved."""

import os
import platform
import sys

from rich.console import Console
from rich.table import Table


def main() -> int:
    console = Console()
    greeting = os.environ.get("HELLO_GREETING", "Hello")
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    console.print(f"[bold green]{greeting}[/], {name}!")
    table = Table(title="Where this runs")
    table.add_column("what")
    table.add_column("value")
    table.add_row("bundle root", os.environ.get("PACK_BUNDLE_ROOT", "?"))
    table.add_row("python", f"{platform.python_implementation()} {platform.python_version()}")
    table.add_row("sys.executable", sys.executable)
    table.add_row("sys.prefix (venv)", sys.prefix)
    table.add_row("sys.base_prefix (runtime)", sys.base_prefix)
    console.print(table)
    return 0
