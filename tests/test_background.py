"""A call on a thread beside the build (the smoke test): its result and its error reach the
caller that waits, and only then."""

from __future__ import annotations

import threading

import pytest

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
