"""`requires-python` against the interpreter a bundle carries: the one check shared by the
project's own `[project] requires-python` and every locked package that declares one, with the
`--python` that would fit in the message."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

# The CPython minor versions python-build-standalone publishes; a hint picks among them.
_MINORS = range(8, 16)


def python_hint(spec: SpecifierSet, current: Version) -> str:
    """`3.12`: the minor nearest to `current` (the newer on a tie) that `spec` accepts, or ""
    when no CPython minor fits."""
    fitting = [m for m in _MINORS if any(spec.contains(f"3.{m}.{p}") for p in (0, 50))]
    if not fitting:
        return ""
    return f"3.{min(fitting, key=lambda m: (abs(m - current.minor), -m))}"


def excluded(spec: SpecifierSet | None, python: str, what: str) -> str | None:
    """None when `spec` accepts `python`; else the message: `what` (e.g. "pyproject.toml:
    [project] requires-python") is SPEC, which excludes the interpreter, and the fix."""
    if spec is None:
        return None
    try:
        version = Version(python)
    except InvalidVersion:
        return None
    if spec.contains(version, prereleases=True):
        return None
    hint = python_hint(spec, version)
    fix = (
        f'build with --python {hint} (or [tool.pack] python = "{hint}")'
        if hint
        else "no CPython release fits it: fix requires-python"
    )
    return f"{what} is {spec}, which excludes the interpreter (Python {version}); {fix}"
