"""`self remove` (pack_runtime/remove.py): what it refuses, what it asks, and what it leaves."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.stub import (
    archive_of,
    deploy,
    launch,
    stub,
)
from tests.helpers.synthetic import runnable_bundle


def test_remove_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    victim = tmp_path / "data"
    (victim / ".pack").mkdir(parents=True)
    (victim / ".pack" / "bundle.json").write_text("{}")
    (victim / "precious.txt").write_text("keep me")
    r = stub(victim, "remove", "--yes")
    assert (r.code, r.err) == (
        2,
        f"error: refusing to remove {victim}: it does not look like a pack bundle "
        "(.pack/files is missing)\n",
    )
    assert (victim / "precious.txt").read_text() == "keep me"


def test_remove_asks_and_honours_no(tmp_path: Path) -> None:
    root = runnable_bundle(tmp_path)
    r = stub(root, "remove", answer="no")
    assert (r.code, r.out) == (1, "not removed\n")
    assert f"Remove demo 1.0 in {root}? [y/N] " in r.err
    assert root.is_dir()
    r = stub(root, "remove")
    assert (r.code, r.err) == (
        2,
        f"error: no terminal to confirm on; pass --yes to remove {root}\n",
    )
    r = stub(root, "remove", answer="y")
    assert (r.code, r.out) == (0, f"removed demo 1.0 ({root})\n")
    assert list(tmp_path.iterdir()) == []


def test_remove_of_the_current_version_needs_yes_and_warns(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    r = stub(d.root, "remove", answer="y")
    assert r.code == 2
    assert r.err == (
        f"error: {d.current} points at {d.root} (demo 1.0); removing it would leave "
        f"{d.current} dangling: switch it to another version first, or pass --yes\n"
    )
    assert d.root.is_dir()
    proc = launch(d.current / "bin/demo", "self", "remove", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"removed demo 1.0 ({d.root})\n"
    warning = f"warning: {d.current} now points at nothing; repoint it at another version\n"
    assert proc.stderr == warning
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["current"]


def test_remove_of_an_old_version_leaves_current_alone(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(runnable_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    assert stub(d.root, "update", str(new), "--yes").code == 0
    r = stub(d.root, "remove", "--yes")
    assert r.code == 0, r.err
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["2.0", "current"]
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"
