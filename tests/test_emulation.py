"""Whether a target's bundle can be smoke-tested here: natively, or through an enabled
binfmt_misc qemu entry (read from a directory laid out like /proc/sys/fs/binfmt_misc)."""

from __future__ import annotations

from pathlib import Path

from packager.emulation import binfmt_entry, why_not_runnable
from packager.targets import Target

HOST = Target("x86_64-unknown-linux-gnu")
ARM = Target("aarch64-unknown-linux-gnu")


def _binfmt(tmp_path: Path, state: str | None) -> Path:
    d = tmp_path / "binfmt_misc"
    d.mkdir()
    (d / "status").write_text("enabled\n")
    if state is not None:
        (d / "qemu-aarch64").write_text(
            f"{state}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
        )
    return d


def _root(tmp_path: Path, *loaders: str) -> Path:
    root = tmp_path / "root"
    for loader in loaders:
        (root / loader.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / loader.lstrip("/")).write_bytes(b"")
    root.mkdir(exist_ok=True)
    return root


def test_host_runs_itself(tmp_path: Path) -> None:
    assert why_not_runnable(HOST, host=HOST, binfmt_dir=tmp_path / "none") is None


def test_aarch64_through_binfmt(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path, "enabled")
    root = _root(tmp_path, "/lib/ld-linux-aarch64.so.1")
    assert binfmt_entry("aarch64", binfmt) == "qemu-aarch64"
    assert why_not_runnable(ARM, host=HOST, binfmt_dir=binfmt, root=root) is None


def test_disabled_or_missing_entry(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path, "disabled")
    root = _root(tmp_path, "/lib/ld-linux-aarch64.so.1")
    expected = (
        f"no enabled qemu-aarch64 entry in {binfmt} to run aarch64 binaries "
        "(install qemu-user-static and binfmt-support)"
    )
    assert binfmt_entry("aarch64", binfmt) is None
    assert why_not_runnable(ARM, host=HOST, binfmt_dir=binfmt, root=root) == expected
    assert why_not_runnable(ARM, host=HOST, binfmt_dir=tmp_path / "unmounted", root=root) == (
        expected.replace(str(binfmt), str(tmp_path / "unmounted"))
    )


def test_missing_loader(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path, "enabled")
    assert why_not_runnable(ARM, host=HOST, binfmt_dir=binfmt, root=_root(tmp_path)) == (
        "aarch64-unknown-linux-gnu binaries need /lib/ld-linux-aarch64.so.1, which this host "
        "does not have"
    )
    musl = Target("x86_64-unknown-linux-musl")
    assert why_not_runnable(musl, host=HOST, binfmt_dir=binfmt, root=_root(tmp_path)) == (
        "x86_64-unknown-linux-musl binaries need /lib/ld-musl-x86_64.so.1, which this host "
        "does not have"
    )


def test_other_os_never_runs(tmp_path: Path) -> None:
    binfmt = _binfmt(tmp_path, "enabled")
    for triple in ("aarch64-apple-darwin", "x86_64-apple-darwin"):
        assert why_not_runnable(Target(triple), host=HOST, binfmt_dir=binfmt) == (
            f"this {HOST} host cannot run {triple} binaries"
        )
