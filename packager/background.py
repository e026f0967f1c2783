"""A call run on a thread while the build goes on (the app's wheel build beside the staging of
the layers, the smoke test beside the archive writer): started at once, joined before anything
it uses is removed, its result returned and its exception re-raised by whoever waits for it.
`stop` ends it early: the subprocess it waits on is killed (and any it would start next is
refused), then it is waited for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

from . import _proc

T = TypeVar("T")


class Background(Generic[T]):
    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._error: BaseException | None = None
        self._value: T | None = None
        self._children = _proc.Children()  # the subprocesses the call runs
        self._thread = threading.Thread(target=self._run, args=(call,), name=name, daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            with self._children.track():
                self._value = call()
        except BaseException as exc:  # handed to whoever calls result()
            self._error = exc

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """A block left by an exception stops the call (the block's error is the one that
        counts); a block left normally leaves it to `result` or `join`."""
        if error is not None:
            self.stop()

    def join(self) -> None:
        """Wait until the call has returned or raised."""
        self._thread.join()

    def result(self) -> T:
        """Wait for the call; return what it returned or raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was

    def stop(self) -> None:
        """End the call early and wait for it: its running subprocess is killed, a later one is
        not started (the call then fails, and that error is dropped: whoever stops it has its
        own). Nothing it started outlives this."""
        self._children.cancel()
        self._thread.join()
