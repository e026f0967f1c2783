"""Step timings: laps charge the time since the previous lap, repeated steps add up, unknown
steps are refused, and the JSON keeps the pipeline's order."""

from __future__ import annotations

import pytest

from packager.timings import STEPS, StepTimer


def test_laps_charge_the_time_since_the_previous_one() -> None:
    ticks = iter([10.0, 10.5, 12.0, 12.25, 15.0])
    timer = StepTimer(clock=lambda: next(ticks))
    timer.lap("plan")  # 0.5
    timer.lap("fetch")  # 1.5
    timer.lap("plan")  # 0.25 more
    timer.lap("archive")  # 2.75
    assert timer.to_json() == {"plan": 0.75, "fetch": 1.5, "archive": 2.75}
    assert list(timer.to_json()) == ["plan", "fetch", "archive"]


def test_json_follows_the_pipeline_order_not_the_lap_order() -> None:
    ticks = iter([0.0, 1.0, 2.0])
    timer = StepTimer(clock=lambda: next(ticks))
    timer.lap("archive")
    timer.lap("plan")
    assert list(timer.to_json()) == ["plan", "archive"]
    assert STEPS.index("plan") < STEPS.index("archive")


def test_an_unknown_step_is_refused() -> None:
    timer = StepTimer()
    with pytest.raises(ValueError, match="unknown build step 'pack'; steps are plan, fetch,"):
        timer.lap("pack")
