"""The gaps `pip check` would report in an assembled venv, and paths two distributions both
install."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.closure import check_installed, overlaps, unsatisfied
from packager.distinfo import read_installed
from packager.errors import BuildError
from packager.targets import Target, marker_environment
from tests.helpers.distinfo import site as site
from tests.helpers.distinfo import write_dist as _dist

LINUX = marker_environment(Target("x86_64-unknown-linux-gnu"), "3.11.7")
WINDOWS = marker_environment(Target("x86_64-pc-windows-msvc"), "3.11.7")


def test_markers_are_evaluated_for_the_target(site: Path) -> None:
    _dist(site, "app", "1.0", "colorama; sys_platform == 'win32'", "six>=1.5")
    _dist(site, "six", "1.16.0")
    dists = read_installed(site)
    assert unsatisfied(dists, LINUX) == []
    [gap] = unsatisfied(dists, WINDOWS)
    assert (
        gap.describe()
        == 'app requires colorama; sys_platform == "win32", but colorama is not installed'
    )


def test_versions_and_extras_asked_by_others_or_by_the_build(site: Path) -> None:
    _dist(site, "app", "1.0", "web[async]>=2")
    _dist(site, "web", "1.5", "anyio; extra == 'async'", "rich; extra == 'cli'")
    dists = read_installed(site)
    gaps = [g.describe() for g in unsatisfied(dists, LINUX)]
    assert gaps == [
        "app requires web[async]>=2, but web 1.5 is installed",
        'web requires anyio; extra == "async", but anyio is not installed',
    ]
    gaps = [g.describe() for g in unsatisfied(dists, LINUX, {"web": ["cli"]})]
    assert 'web requires rich; extra == "cli", but rich is not installed' in gaps


def test_paths_installed_twice(site: Path) -> None:
    _dist(site, "alpha", "0.1.0", files=("../../../bin/tool", "alpha/__init__.py"))
    _dist(site, "beta", "0.2.0", files=("../../../bin/tool", "beta/__init__.py"))
    _dist(site, "ns-one", "1.0", files=("ns/__init__.py,sha256=same,10",))
    _dist(site, "ns-two", "1.0", files=("ns/__init__.py,sha256=same,10",))
    dists = read_installed(site)
    [clash] = overlaps(dists)  # not ns/__init__.py: the same bytes, whoever wrote it last
    assert (clash.path, clash.distributions) == ("bin/tool", ("alpha 0.1.0", "beta 0.2.0"))
    with pytest.raises(BuildError) as err:
        check_installed(dists, LINUX)
    assert str(err.value).startswith(
        "venv/bin/tool is installed by both alpha 0.1.0 and beta 0.2.0"
    )
