"""Whether this host can run a target's binaries, natively or through a binfmt_misc emulator
(qemu-user's `qemu-<arch>` entry), so a cross-built bundle is smoke-tested when it can be and
says why not when it cannot."""

from __future__ import annotations

from pathlib import Path

from .binarch import loader
from .targets import Target, can_run_on_host, host_target

BINFMT = Path("/proc/sys/fs/binfmt_misc")


def binfmt_entry(arch: str, binfmt_dir: Path = BINFMT) -> str | None:
    """The enabled binfmt_misc entry that runs `arch` ELF files (`qemu-aarch64`), or None."""
    entry = binfmt_dir / f"qemu-{arch}"
    try:
        lines = entry.read_text().splitlines()
    except OSError:
        return None
    return entry.name if lines and lines[0].strip() == "enabled" else None


def why_not_runnable(
    target: Target,
    *,
    host: Target | None = None,
    binfmt_dir: Path = BINFMT,
    root: Path = Path("/"),
) -> str | None:
    """None when a bundle for `target` can run here (to smoke-test it); otherwise the reason,
    one line, saying what would make it runnable."""
    host = host or host_target()
    if can_run_on_host(target, host=host):
        return None
    if target.os != host.os or target.os != "linux":
        return f"this {host} host cannot run {target} binaries"
    if target.arch == host.arch and target.libc == host.libc:
        return f"this CPU lacks the {target.level} instructions of {target}"
    if target.arch != host.arch and binfmt_entry(target.arch, binfmt_dir) is None:
        return (
            f"no enabled qemu-{target.arch} entry in {binfmt_dir} to run {target.arch} binaries "
            "(install qemu-user-static and binfmt-support)"
        )
    needed = loader(target)
    if needed is not None and not (root / needed.lstrip("/")).exists():
        return f"{target} binaries need {needed}, which this host does not have"
    return None
