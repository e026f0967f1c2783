"""What travels through every operation instead of process-global state: where the cache is,
whether the network may be used, and where progress goes (the CLI decides how to show it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Reporter(Protocol):
    """Receives progress from library code; the CLI renders it (rich on a TTY, nothing when
    quiet). Library code never prints."""

    def step(self, message: str) -> None: ...

    def detail(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def progress(self, label: str, total: int | None) -> Callable[[int], None]:
        """Start a progress bar; returns a callback that advances it by n bytes/items.
        The bar is finished when `step` is called next or the operation ends."""
        ...


class NullReporter:
    """Reports nothing: the default for library callers and tests."""

    def step(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def progress(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


class RecordingReporter(NullReporter):
    """Keeps every message: lets tests assert what a build said it did."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def step(self, message: str) -> None:
        self.messages.append(("step", message))

    def detail(self, message: str) -> None:
        self.messages.append(("detail", message))

    def warn(self, message: str) -> None:
        self.messages.append(("warn", message))


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$PACK_CACHE_DIR`, else `$XDG_CACHE_HOME/pack`, else `~/.cache/pack`."""
    env = os.environ if environ is None else environ
    if env.get("PACK_CACHE_DIR"):
        return Path(env["PACK_CACHE_DIR"]).expanduser().absolute()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser().absolute() / "pack"
    return Path.home() / ".cache" / "pack"


@dataclass
class Context:
    cache_dir: Path = field(default_factory=default_cache_dir)
    offline: bool = False
    reporter: Reporter = field(default_factory=NullReporter)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
