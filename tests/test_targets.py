"""Targets: parsing, what a triple means, host detection (with the host given explicitly, so
every platform can be asked about from this one), CPU levels, wheel tags and markers."""

from __future__ import annotations

import platform

import pytest

from packager.errors import ConfigError
from packager.targets import (
    KNOWN_TRIPLES,
    Target,
    can_run_on_host,
    host_glibc,
    host_target,
    marker_environment,
    parse_target,
    supported_tags,
    x86_64_level,
)


@pytest.mark.parametrize(
    ("triple", "arch", "level", "os", "libc"),
    [
        ("x86_64-unknown-linux-gnu", "x86_64", "", "linux", "gnu"),
        ("x86_64_v3-unknown-linux-gnu", "x86_64", "v3", "linux", "gnu"),
        ("x86_64_v2-unknown-linux-musl", "x86_64", "v2", "linux", "musl"),
        ("aarch64-unknown-linux-musl", "aarch64", "", "linux", "musl"),
        ("aarch64-apple-darwin", "aarch64", "", "darwin", "none"),
        ("x86_64-apple-darwin", "x86_64", "", "darwin", "none"),
    ],
)
def test_what_a_triple_means(triple: str, arch: str, level: str, os: str, libc: str) -> None:
    target = parse_target(triple)
    assert (target.arch, target.level, target.os, target.libc) == (arch, level, os, libc)
    assert str(target) == triple


def test_every_known_triple_parses() -> None:
    assert [parse_target(t).triple for t in KNOWN_TRIPLES] == list(KNOWN_TRIPLES)
    assert parse_target("  X86_64-Unknown-Linux-Musl ") == Target("x86_64-unknown-linux-musl")


def test_unknown_target_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError) as err:
        parse_target("x86_64-unknown-linux-musel")
    assert str(err.value).startswith(
        "unknown target 'x86_64-unknown-linux-musel' (did you mean x86_64-unknown-linux-musl?); "
        "known targets: x86_64-unknown-linux-gnu, "
    )


@pytest.mark.parametrize(
    ("system", "machine", "libc", "expected"),
    [
        ("Linux", "x86_64", "gnu", "x86_64-unknown-linux-gnu"),
        ("Linux", "AMD64", "musl", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "gnu", "aarch64-unknown-linux-gnu"),
        ("Linux", "arm64", "musl", "aarch64-unknown-linux-musl"),
        ("Darwin", "arm64", None, "aarch64-apple-darwin"),
        ("Darwin", "x86_64", None, "x86_64-apple-darwin"),
    ],
)
def test_host_detection(system: str, machine: str, libc: str | None, expected: str) -> None:
    assert host_target(system=system, machine=machine, libc=libc) == Target(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("system", "machine", "message"),
    [
        ("Linux", "ppc64le", "this host (linux on ppc64le) is not a platform pack builds for; "),
        ("Windows", "AMD64", "this host (windows on amd64) is not a platform pack builds for; "),
    ],
)
def test_unsupported_hosts(system: str, machine: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        host_target(system=system, machine=machine, libc="gnu")
    assert str(err.value).startswith(message + "pass --target with one of: ")


def test_this_host() -> None:
    host = host_target()
    assert host.triple in KNOWN_TRIPLES
    assert host.level == ""  # the baseline: a bundle built here runs on any x86-64
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert host.libc == "gnu"
        glibc = host_glibc()
        assert glibc is not None and glibc >= (2, 17)


CPU = "processor\t: 0\nflags\t\t: fpu {flags}\nbogomips\t: 1\n\nprocessor\t: 1\nflags\t: none\n"
V2 = "cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3"
V3 = V2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
V4 = V3 + " avx512f avx512bw avx512cd avx512dq avx512vl"


@pytest.mark.parametrize(
    ("flags", "level"),
    [("sse2", ""), (V2, "v2"), (V3, "v3"), (V4, "v4"), (V2 + " avx512f", "v2")],
)
def test_x86_64_level(flags: str, level: str) -> None:
    assert x86_64_level(CPU.format(flags=flags)) == level


def test_x86_64_level_of_this_host_is_known() -> None:
    assert x86_64_level() in ("", "v2", "v3", "v4")


@pytest.mark.parametrize(
    ("target", "level", "runs"),
    [
        ("x86_64-unknown-linux-gnu", "", True),
        ("x86_64_v3-unknown-linux-gnu", "v3", True),
        ("x86_64_v3-unknown-linux-gnu", "v4", True),
        ("x86_64_v4-unknown-linux-gnu", "v3", False),
        ("x86_64_v2-unknown-linux-gnu", "", False),
        ("x86_64-unknown-linux-musl", "v4", False),
        ("aarch64-unknown-linux-gnu", "v4", False),
        ("x86_64-apple-darwin", "v4", False),
    ],
)
def test_can_run_on_host(target: str, level: str, runs: bool) -> None:
    host = Target("x86_64-unknown-linux-gnu")
    assert can_run_on_host(Target(target), host=host, level=level) is runs


def test_musl_target_wheel_tags() -> None:
    tags = [str(t) for t in supported_tags(Target("x86_64-unknown-linux-musl"), (3, 12))]
    assert "cp312-cp312-musllinux_1_2_x86_64" in tags
    assert not any("manylinux" in t for t in tags)
    level_tags = supported_tags(Target("x86_64_v3-unknown-linux-musl"), (3, 12))
    assert [str(t) for t in level_tags] == tags  # wheels carry no microarchitecture level


def test_gnu_and_freethreaded_wheel_tags() -> None:
    tags = [
        str(t)
        for t in supported_tags(Target("aarch64-unknown-linux-gnu"), (3, 13), freethreaded=True)
    ]
    assert tags[0] == "cp313-cp313t-manylinux_2_17_aarch64"
    assert "cp313-cp313t-manylinux2014_aarch64" in tags
    assert not any("-abi3-" in t for t in tags)  # abi3t (PEP 803) is accepted, as pip does
    assert "py3-none-any" in tags


def test_markers_for_darwin_arm() -> None:
    env = marker_environment(Target("aarch64-apple-darwin"), "3.12.7")
    assert env["platform_machine"] == "arm64"
    assert env["sys_platform"] == "darwin"
    assert env["python_version"] == "3.12"
    musl = marker_environment(Target("x86_64_v3-unknown-linux-musl"), "3.13.1", freethreaded=True)
    assert musl["platform_machine"] == "x86_64"
    assert musl["sys_platform"] == "linux"
