"""The typer app object and the per-invocation state every command reads (verbosity, the
console that renders progress), kept apart so command modules can import them."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from ..context import Context

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class ConsoleReporter:
    """Renders library progress: steps and bars on a TTY (stderr), nothing when quiet or when
    stderr is not a terminal (CI logs get only warnings and the final summary). rich is
    imported when the first reporter is made: commands that only print results skip it."""

    def __init__(self, verbosity: int) -> None:
        self.verbosity = verbosity
        self._err: Console | None = None
        # Without a terminal nothing is drawn: rich is then loaded only if something prints.
        self.interactive = verbosity >= 0 and _may_be_terminal() and self.err.is_terminal
        self._progress: Progress | None = None
        self._started = time.monotonic()

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def step(self, message: str) -> None:
        self._stop_progress()
        if self.interactive or self.verbosity > 0:
            elapsed = time.monotonic() - self._started
            self.err.print(f"[dim]{elapsed:6.1f}s[/] {_escape(message)}")

    def detail(self, message: str) -> None:
        if self.verbosity > 0:
            self._stop_progress()
            self.err.print(f"[dim]       {_escape(message)}[/]")

    def warn(self, message: str) -> None:
        self._stop_progress()
        if self.verbosity >= 0:
            self.err.print(f"[yellow]warning:[/] {_escape(message)}")

    def progress(self, label: str, total: int | None) -> Callable[[int], None]:
        self._stop_progress()
        if not self.interactive:
            return lambda n: None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        progress = Progress(
            TextColumn("       {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )
        task = progress.add_task(label, total=total)
        progress.start()
        self._progress = progress
        return lambda n: progress.advance(task, n)

    def close(self) -> None:
        self._stop_progress()

    def print_error(self, message: str) -> None:
        self._stop_progress()
        first, _, rest = message.partition("\n")
        self.err.print(f"[bold red]error:[/] {_escape(first)}", highlight=False)
        if rest:
            self.err.print(rest, markup=False, highlight=False)


def _may_be_terminal() -> bool:
    """False only where rich would also find stderr no terminal: not a TTY, and neither
    TTY_COMPATIBLE nor FORCE_COLOR (which override that check) set."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@dataclass
class State:
    verbosity: int = 0
    _console: ConsoleReporter | None = field(default=None, repr=False)

    @property
    def console(self) -> ConsoleReporter:
        if self._console is None or self._console.verbosity != self.verbosity:
            self._console = ConsoleReporter(self.verbosity)
        return self._console

    def context(self, *, offline: bool = False) -> Context:
        return Context(offline=offline, reporter=self.console)


state = State()


def out(text: str) -> None:
    """Write to stdout (results, JSON); everything else goes to stderr."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


__all__ = ["ConsoleReporter", "State", "app", "out", "state", "typer"]
