"""A small but real CLI: fetch URLs with httpx and show them with rich, commands by click.

`benchapp --version` is what the benchmark times: it imports exactly httpx, rich and click
(the floor imports the same three) and prints the versions, so the figure is the cost of each
tool's launcher and import machinery on top of the imports themselves.
"""

from __future__ import annotations

import click
import httpx
import rich

from . import __version__

BENCH_MARK = 0  # the benchmark bumps this line to time a rebuild after a one-line change


def _version_message() -> str:
    imported = ", ".join(m.__name__ for m in (httpx, rich, click))
    return f"benchapp {__version__} (httpx {httpx.__version__}; imports {imported})"


@click.group()
@click.version_option(__version__, message=_version_message())
def main() -> None:
    """Fetch URLs and show what came back."""


@main.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
def fetch(urls: tuple[str, ...], timeout: float) -> None:
    """Fetch each URL and print a table of status, size and time."""
    from rich.console import Console
    from rich.table import Table

    table = Table("url", "status", "bytes", "seconds")
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for url in urls:
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                table.add_row(url, f"[red]{type(exc).__name__}[/]", "-", "-")
                continue
            table.add_row(
                url,
                str(response.status_code),
                str(len(response.content)),
                f"{response.elapsed.total_seconds():.3f}",
            )
    Console().print(table)


@main.command()
@click.argument("text")
def show(text: str) -> None:
    """Render TEXT as rich markup."""
    from rich.console import Console

    Console().print(text)
