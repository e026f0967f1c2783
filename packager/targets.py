"""Target platforms as python-build-standalone names them (`x86_64-unknown-linux-gnu`, ...):
parsing, host detection, and what a target means for wheel tags and environment markers, so a
lock can be planned for a platform other than the one pack runs on."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging import tags

from .errors import ConfigError

OS = Literal["linux", "darwin", "windows"]
Libc = Literal["gnu", "musl", "none"]

KNOWN_TRIPLES = (
    "x86_64-unknown-linux-gnu",
    "x86_64_v2-unknown-linux-gnu",
    "x86_64_v3-unknown-linux-gnu",
    "x86_64_v4-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "x86_64_v2-unknown-linux-musl",
    "x86_64_v3-unknown-linux-musl",
    "x86_64_v4-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
)

# The oldest glibc python-build-standalone's linux-gnu builds run on; wheels for a foreign
# gnu target are chosen as if the target had this glibc unless told otherwise.
DEFAULT_GLIBC = (2, 17)
DEFAULT_MACOS = (11, 0)


@dataclass(frozen=True, order=True)
class Target:
    triple: str

    @property
    def arch(self) -> str:
        """The architecture without microarchitecture level: x86_64, aarch64."""
        return self.triple.split("-")[0].split("_v")[0]

    @property
    def level(self) -> str:
        """The x86-64 microarchitecture level (`v2`..`v4`), or "" for the baseline."""
        head = self.triple.split("-")[0]
        return head.split("_", 2)[-1] if head.startswith("x86_64_v") else ""

    @property
    def os(self) -> OS:
        if "-linux-" in self.triple:
            return "linux"
        if self.triple.endswith("-apple-darwin"):
            return "darwin"
        return "windows"

    @property
    def libc(self) -> Libc:
        if self.triple.endswith("-musl"):
            return "musl"
        if self.triple.endswith("-gnu"):
            return "gnu"
        return "none"

    def __str__(self) -> str:
        return self.triple


def parse_target(text: str) -> Target:
    text = text.strip().lower()
    if "windows" in text or text.endswith(("-msvc", "-win32", "-mingw")):
        raise ConfigError(
            f"{text}: Windows targets are not supported yet (a bundle's launchers are POSIX sh "
            f"and its venv is made of symlinks); build for one of: {', '.join(KNOWN_TRIPLES)}"
        )
    if text not in KNOWN_TRIPLES:
        import difflib

        near = difflib.get_close_matches(text, KNOWN_TRIPLES, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ConfigError(
            f"unknown target {text!r}{hint}; known targets: {', '.join(KNOWN_TRIPLES)}"
        )
    return Target(text)


_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}


def host_target(
    *, system: str | None = None, machine: str | None = None, libc: Libc | None = None
) -> Target:
    """The target of the machine pack runs on, at the baseline microarchitecture (a bundle
    built for it runs on every machine of that architecture). The arguments replace detection,
    to ask about another machine."""
    system = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    arch = _ARCH_ALIASES.get(machine, machine)
    if system == "darwin":
        triple = f"{arch}-apple-darwin"
    elif system == "linux":
        triple = f"{arch}-unknown-linux-{libc or host_libc()}"
    else:
        triple = f"{arch}-{system}"
    if triple not in KNOWN_TRIPLES:
        raise ConfigError(
            f"this host ({system} on {machine}) is not a platform pack builds for; "
            f"pass --target with one of: {', '.join(KNOWN_TRIPLES)}"
        )
    return Target(triple)


def host_libc() -> Libc:
    """The C library of this Linux host: glibc when the process runs on it, musl when its
    loader is installed (Alpine), else glibc."""
    if _glibc_version() is not None:
        return "gnu"
    if any(Path("/lib").glob("ld-musl-*.so.1")):
        return "musl"
    return "gnu"


def _glibc_version() -> str | None:
    """ "2.36" from the running C library; None when it is not glibc."""
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not found or not found.startswith("glibc "):
        return None
    return found.split()[1]


def host_glibc() -> tuple[int, int] | None:
    """The glibc version of this host, for wheel tags. It is the version of the running
    library (as pip and packaging read it), not the symbol versions the interpreter binary
    happens to reference."""
    version = _glibc_version()
    if version is None:
        name, version = platform.libc_ver()
        if name != "glibc" or not version:
            return None
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


# CPU flags (as /proc/cpuinfo names them) each x86-64 microarchitecture level adds.
_X86_64_LEVELS = (
    ("v2", {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}),
    ("v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    ("v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
)


def x86_64_level(cpuinfo: str | None = None) -> str:
    """The highest x86-64 microarchitecture level ("" for the baseline, "v2".."v4") whose
    instructions this CPU has, from `/proc/cpuinfo` text (read when not given)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return ""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags = set(value.split())
            break
    level = ""
    for name, needed in _X86_64_LEVELS:
        if not needed <= flags:
            break
        level = name
    return level


def can_run_on_host(
    target: Target, *, host: Target | None = None, level: str | None = None
) -> bool:
    """Whether a bundle for `target` can run here (to smoke-test it): same OS, architecture
    and C library, and a CPU with the target's microarchitecture level."""
    host = host or host_target()
    if (target.os, target.arch, target.libc) != (host.os, host.arch, host.libc):
        return False
    if not target.level:
        return True
    have = x86_64_level() if level is None else level
    return bool(have) and have >= target.level


def _platforms(target: Target, glibc: tuple[int, int] | None) -> list[str]:
    arch = target.arch
    if target.os == "linux" and target.libc == "gnu":
        major, minor = glibc or DEFAULT_GLIBC
        out = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)]
        legacy = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
        expanded: list[str] = []
        for tag in out:
            expanded.append(tag)
            m = int(tag.split("_")[2])
            if (2, m) in legacy and major == 2:
                expanded.append(f"{legacy[(2, m)]}_{arch}")
        return [*expanded, f"linux_{arch}"]
    if target.os == "linux":
        return [f"musllinux_1_{m}_{arch}" for m in range(2, -1, -1)] + [f"linux_{arch}"]
    if target.os == "darwin":
        mac_arch = "arm64" if arch == "aarch64" else "x86_64"
        return list(tags.mac_platforms(DEFAULT_MACOS, mac_arch))
    return ["win_amd64" if arch == "x86_64" else "win_arm64"]


def supported_tags(
    target: Target,
    python: tuple[int, int],
    *,
    freethreaded: bool = False,
    glibc: tuple[int, int] | None = None,
) -> list[tags.Tag]:
    """Wheel tags an interpreter `python` on `target` accepts, most specific first."""
    abi = f"cp{python[0]}{python[1]}{'t' if freethreaded else ''}"
    platforms = _platforms(target, glibc)
    cp = list(tags.cpython_tags(python, abis=[abi, "abi3", "none"], platforms=platforms))
    if freethreaded:
        cp = [t for t in cp if t.abi != "abi3"]
    return cp + list(tags.compatible_tags(python, f"cp{python[0]}{python[1]}", platforms))


def marker_environment(
    target: Target, python_full: str, *, freethreaded: bool = False
) -> dict[str, str]:
    """The PEP 508 environment of an interpreter `python_full` (e.g. "3.11.7") on `target`."""
    major_minor = ".".join(python_full.split(".")[:2])
    sys_platform = {"linux": "linux", "darwin": "darwin", "windows": "win32"}[target.os]
    machine = target.arch
    if target.os == "darwin" and target.arch == "aarch64":
        machine = "arm64"
    if target.os == "windows":
        machine = "AMD64" if target.arch == "x86_64" else "ARM64"
    return {
        "implementation_name": "cpython",
        "implementation_version": python_full,
        "os_name": "nt" if target.os == "windows" else "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": {"linux": "Linux", "darwin": "Darwin", "windows": "Windows"}[target.os],
        "platform_version": "",
        "python_full_version": python_full,
        "python_version": major_minor,
        "sys_platform": sys_platform,
    }
