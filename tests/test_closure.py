"""Installed distributions read from a venv, their dependency graph for a target, the gaps
`pip check` would report, and paths two distributions both install."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest

from packager.closure import check_installed, overlaps, unsatisfied
from packager.distinfo import dependency_graph, read_installed
from packager.errors import BuildError
from packager.targets import Target, marker_environment

LINUX = marker_environment(Target("x86_64-unknown-linux-gnu"), "3.11.7")
WINDOWS = marker_environment(Target("x86_64-pc-windows-msvc"), "3.11.7")


def _dist(site: Path, name: str, version: str, *requires: str, files: tuple[str, ...] = ()) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n\n")
    record = [*files, f"{name}-{version}.dist-info/METADATA,,"]
    (info / "RECORD").write_text("\n".join(r if "," in r else f"{r},," for r in record) + "\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    path.mkdir(parents=True)
    return path


def test_the_graph_of_this_test_venv() -> None:
    """A real venv (the one running the tests): httpx needs httpcore, and nothing is missing."""
    site = Path(sysconfig.get_paths()["purelib"])
    dists = read_installed(site, Path(sys.prefix))
    names = {d.name for d in dists}
    assert {"httpx", "httpcore", "packaging"} <= names
    edges = {(d.requirer, d.requirement.name) for d in dependency_graph(dists, LINUX)}
    assert ("httpx", "httpcore") in edges
    httpx = next(d for d in dists if d.name == "httpx")
    assert any(f.startswith("lib/python3") and f.endswith("httpx/__init__.py") for f in httpx.files)


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


def test_unreadable_metadata_is_a_build_error_naming_the_file(site: Path) -> None:
    info = site / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\n\n")
    with pytest.raises(BuildError) as err:
        read_installed(site)
    assert str(err.value) == f"{info}/METADATA has no Name or no Version"
    (info / "METADATA").write_text("Name: broken\nVersion: 1.0\nRequires-Dist: six >>> 1\n\n")
    with pytest.raises(BuildError, match=r"Requires-Dist 'six >>> 1' is invalid"):
        read_installed(site)
