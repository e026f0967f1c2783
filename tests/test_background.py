"""A call on a thread beside the build (the smoke test): its result and its error reach the
caller that waits, and only then."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from packager._proc import run
from packager.background import Background
from packager.errors import BuildError


def test_result_waits_for_the_call() -> None:
    release, done = threading.Event(), []

    def call() -> None:
        release.wait(5)
        done.append(1)

    job = Background(call, "test")
    assert done == []
    release.set()
    job.result()
    assert done == [1]


def test_the_calls_error_is_raised_by_result_not_by_join() -> None:
    def call() -> None:
        raise BuildError("smoke test: entry points do not resolve")

    job = Background(call, "test")
    job.join()  # waiting alone raises nothing: the build decides when the error counts
    with pytest.raises(BuildError) as raised:
        job.result()
    assert str(raised.value) == "smoke test: entry points do not resolve"


def test_result_returns_what_the_call_returned() -> None:
    assert Background(lambda: ["wheel"], "test").result() == ["wheel"]


def test_stop_kills_the_running_subprocess_and_refuses_the_next(tmp_path: Path) -> None:
    """The overlapped wheel build when staging fails: its child is killed, not waited out,
    and the call cannot start another one before it returns."""
    started, after = tmp_path / "started", tmp_path / "after"

    def call() -> None:
        try:
            run(
                [sys.executable, "-c", f"open({str(started)!r}, 'w'); import time; time.sleep(60)"],
                what="a long step",
            )
        finally:
            run([sys.executable, "-c", f"open({str(after)!r}, 'w')"], what="the next step")

    job = Background(call, "test")
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists()
    begun = time.monotonic()
    job.stop()
    assert time.monotonic() - begun < 30  # killed: not the 60 s sleep
    assert not after.exists()
    with pytest.raises(BuildError) as raised:
        job.result()
    assert str(raised.value) == "cancelled: another step of the build failed"


def test_stop_after_the_call_returned_changes_nothing() -> None:
    job = Background(lambda: 1, "test")
    job.join()
    job.stop()
    assert job.result() == 1
    # run() on this thread is not affected by the stopped job
    assert run([sys.executable, "-c", "pass"], what="a step").returncode == 0


def test_stop_reaches_a_background_the_call_started(tmp_path: Path) -> None:
    """buildenvs builds the wheel ahead on a Background of its own, inside the app's wheel
    build: stopping the outer one kills the inner one's child (and what that started) too."""
    started = tmp_path / "started"
    script = f"import subprocess, sys, time; open({str(started)!r}, 'w').write(str(" + (
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']).pid)); "
        "time.sleep(60)"
    )

    def call() -> None:
        inner = Background(lambda: run([sys.executable, "-c", script], what="inner"), "inner")
        inner.result()

    job = Background(call, "outer")
    deadline = time.monotonic() + 30
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    grandchild = int(started.read_text())
    job.stop()
    with pytest.raises(BuildError) as raised:
        job.result()
    assert str(raised.value).startswith("inner failed (exit -9)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {grandchild} outlived the stopped call")


def test_a_block_left_by_an_error_stops_the_call_and_keeps_its_own_error(tmp_path: Path) -> None:
    started = tmp_path / "started"

    def call() -> None:
        code = f"open({str(started)!r}, 'w'); import time; time.sleep(60)"
        run([sys.executable, "-c", code], what="a long step")

    begun = time.monotonic()
    with pytest.raises(OSError, match="staging failed"), Background(call, "test") as job:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise OSError("staging failed")
    assert time.monotonic() - begun < 30  # stopped on the way out: not the 60 s sleep
    with pytest.raises(BuildError) as raised:
        job.result()
    assert str(raised.value) == "a long step failed (exit -9)"  # killed (SIGKILL) by stop()


def test_a_block_left_normally_leaves_the_call_to_result() -> None:
    with Background(lambda: ["wheel"], "test") as job:
        pass
    assert job.result() == ["wheel"]
