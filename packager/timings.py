"""Where a build's time goes: its steps timed back to back (each lap charges the time since
the previous one to a named step), reported by `pack build --json` under `timings`."""

from __future__ import annotations

import time
from collections.abc import Callable

# The steps of `pack build`, in the order they run; a step that did not run is absent. The
# app's wheel is built while the layers are staged (charged to "assemble"): "wheel" is only
# the wait beyond that. The smoke test runs while the end of "assemble" (checks, metadata)
# and "archive" do: "smoke_test" is only the wait beyond them.
STEPS = ("plan", "fetch", "provision", "wheel", "assemble", "smoke_test", "archive")


class StepTimer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()
        self.seconds: dict[str, float] = {}

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap (or since the timer started) to `step`;
        a step charged twice adds up."""
        if step not in STEPS:
            raise ValueError(f"unknown build step {step!r}; steps are {', '.join(STEPS)}")
        now = self._clock()
        self.seconds[step] = self.seconds.get(step, 0.0) + (now - self._last)
        self._last = now

    def to_json(self) -> dict[str, float]:
        """Seconds per step, in millisecond resolution, in the order the steps run."""
        return {s: round(self.seconds[s], 3) for s in STEPS if s in self.seconds}
