"""A call run on a thread while the build goes on (the smoke test beside the archive writer):
started at once, joined before anything it uses is removed, its exception re-raised by
whoever waits for it."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    def __init__(self, call: Callable[[], object], name: str) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name=name, daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:  # handed to whoever calls result()
            self._error = exc

    def join(self) -> None:
        """Wait until the call has returned or raised."""
        self._thread.join()

    def result(self) -> None:
        """Wait for the call; raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
