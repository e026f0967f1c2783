"""The subprocess gateway: a failure's line is the tool's own explanation. The outputs below
are what uv 0.13 and hatchling printed for a hatchling misconfiguration, a requires-python
clash, a stale lock and a missing package (tests/e2e/test_user_inputs.py provokes the real
ones)."""

from __future__ import annotations

import sys

import pytest

from packager._proc import explain, run
from packager.errors import BuildError

HATCHLING = """\
error: Failed to build `compiled-app @ file:///tmp/cmp`
  cause: The build backend returned an error
  cause: Call to `hatchling.build.prepare_metadata_for_build_editable` failed (exit status: 1)

         [stderr]
         Traceback (most recent call last):
           File "<string>", line 14, in <module>
           File "/root/.cache/uv/builds-v0/.tmp7BoePP/lib/python3.11/site-packages/hatchling/metadata/core.py", line 1550, in cached
             raise type(e)(message) from None
         OSError: Error getting the version from source `regex`: file does not exist: src/x.py

hint: Build failures usually indicate a problem with the package or the build environment
"""  # noqa: E501

REQUIRES_PYTHON = """\
Using Python 3.11.7 environment at: /tmp/v1
error: No solution found when resolving dependencies
  cause: Because the current Python version (3.11.7) does not satisfy Python>=3.12 and nbs==0.1.0 depends on Python>=3.12, we can conclude that nbs==0.1.0 cannot be used.
         And because only nbs==0.1.0 is available and you require nbs, we can conclude that your requirements are unsatisfiable.
"""  # noqa: E501

STALE = """\
Resolved 4 packages in 100ms
error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.

hint: To update the lockfile, run `uv lock`.
"""


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (
            HATCHLING,
            "OSError: Error getting the version from source `regex`: file does not exist: src/x.py",
        ),
        (
            REQUIRES_PYTHON,
            "Because the current Python version (3.11.7) does not satisfy Python>=3.12 and "
            "nbs==0.1.0 depends on Python>=3.12, we can conclude that nbs==0.1.0 cannot be used. "
            "And because only nbs==0.1.0 is available and you require nbs, we can conclude that "
            "your requirements are unsatisfiable.",
        ),
        (STALE, "The lockfile at `uv.lock` needs to be updated, but `--locked` was provided."),
        ("something went wrong\nhint: try again\n", "something went wrong"),
        ("", ""),
    ],
)
def test_explain_picks_the_tools_own_reason(output: str, line: str) -> None:
    assert explain(output) == line


def test_a_failing_python_process_reports_its_exception_and_keeps_the_output() -> None:
    code = "import sys\nprint('noise', file=sys.stderr)\nraise ValueError('the real reason')"
    with pytest.raises(BuildError) as err:
        run([sys.executable, "-c", code], what="the probe", hint="fix the probe")
    assert str(err.value) == (
        "the probe failed (exit 1): ValueError: the real reason; fix the probe"
    )
    assert "noise" in err.value.details and err.value.details.startswith("$ ")
