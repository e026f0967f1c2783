"""Installed metadata read from a venv (dist-info, METADATA, RECORD, entry_points.txt), the
RECORD rewrite when an installer's record is removed, and the dependency graph for a target."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest

from packager.distinfo import (
    dependency_graph,
    dist_info_name,
    installed_files,
    read_installed,
    remove_recorded,
    scripts,
)
from packager.errors import BuildError
from packager.targets import Target, marker_environment
from tests.helpers.distinfo import site as site
from tests.helpers.distinfo import write_dist

LINUX = marker_environment(Target("x86_64-unknown-linux-gnu"), "3.11.7")


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


def test_licence_fields_and_requirements_as_written(site: Path) -> None:
    write_dist(site, "lib", "2.0", "six>=1.5; python_version >= '3'")
    meta = site / "lib-2.0.dist-info" / "METADATA"
    meta.write_text(
        meta.read_text().replace(
            "Version: 2.0\n",
            "Version: 2.0\nLicense-Expression: MIT\n"
            "Classifier: License :: OSI Approved :: MIT License\n"
            "Classifier: Programming Language :: Python\n",
        )
    )
    (dist,) = read_installed(site)
    assert dist.license_expression == "MIT"
    assert dist.license_classifiers == ("License :: OSI Approved :: MIT License",)
    assert dist.requires_dist == ("six>=1.5; python_version >= '3'",)
    assert [str(r) for r in dist.requires] == ['six>=1.5; python_version >= "3"']


def test_extras_asked_of_a_distribution_are_followed(site: Path) -> None:
    write_dist(site, "app", "1.0", "web[async]", "never; sys_platform == 'win32'")
    write_dist(site, "web", "1.5", "anyio; extra == 'async'", "rich; extra == 'cli'")
    write_dist(site, "anyio", "4.0")
    edges = [
        (d.requirer, str(d.requirement), d.installed.version if d.installed else None)
        for d in dependency_graph(read_installed(site), LINUX)
    ]
    assert edges == [
        ("app", "web[async]", "1.5"),
        ("web", 'anyio; extra == "async"', "4.0"),
    ]
    asked = dependency_graph(read_installed(site), LINUX, {"web": ["cli"]})
    assert ("web", 'rich; extra == "cli"', None) in [
        (d.requirer, str(d.requirement), d.installed) for d in asked
    ]


def test_remove_recorded_drops_the_files_and_their_record_lines(site: Path) -> None:
    write_dist(site, "lib", "1.0", files=("lib/__init__.py,sha256=abc,3",))
    info = site / "lib-1.0.dist-info"
    (info / "direct_url.json").write_text("{}")
    record = info / "RECORD"
    record.write_text(record.read_text() + "lib-1.0.dist-info/direct_url.json,,\n")
    remove_recorded(info, ["direct_url.json"])
    assert not (info / "direct_url.json").exists()
    assert record.read_text() == ("lib/__init__.py,sha256=abc,3\nlib-1.0.dist-info/METADATA,,\n")


def test_installed_files_and_the_dist_info_of_a_wheel(site: Path) -> None:
    write_dist(site, "lib", "1.0", files=("lib/__init__.py", "../../../bin/lib"))
    wheel = Path("lib-1.0-py3-none-any.whl")
    assert dist_info_name(wheel) == "lib-1.0.dist-info"
    assert installed_files(site, dist_info_name(wheel)) == [
        (site / "lib/__init__.py").resolve(),
        (site / "lib-1.0.dist-info/METADATA").resolve(),
    ]
    assert installed_files(site, "missing-1.0.dist-info") == []


def test_console_and_gui_scripts(site: Path) -> None:
    write_dist(site, "Tool_Kit", "1.0")
    (site / "Tool_Kit-1.0.dist-info" / "entry_points.txt").write_text(
        "[console_scripts]\nTool = tool.cli:main\n[gui_scripts]\ntool-gui = tool.gui:run\n"
        "[tool.plugins]\nignored = tool.plugin\n"
    )
    found = [(dist, section, name, value) for _, dist, section, name, value in scripts(site)]
    assert found == [
        ("Tool_Kit", "console_scripts", "Tool", "tool.cli:main"),
        ("Tool_Kit", "gui_scripts", "tool-gui", "tool.gui:run"),
    ]


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
