"""The memo of `uv export` (packager/locks/exportmemo.py and its use in locks/uvlock.py), with
real uv and real locks made by `uv lock` in the test: an unchanged project is not exported
twice, and whatever changes what uv would say (a dependency, a workspace member, a path
dependency, uv's configuration) is decided by uv again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from packager import cache as cache_mod
from packager._fs import sha256_file
from packager.context import Context
from packager.errors import LockError
from packager.locks.exportmemo import export_key
from packager.locks.model import LockSource
from packager.locks.uvlock import export_uv_lock
from packager.uvtool import uv_bin, uv_env

ROOT = """
[project]
name = "root"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = ["liba"]

[tool.uv.sources]
liba = { workspace = true }

[tool.uv.workspace]
members = ["packages/*"]
"""

MEMBER = """
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""

ARGS = ["export", "--format", "pylock.toml", "--locked"]


def _member(root: Path, name: str) -> Path:
    folder = root / "packages" / name
    (folder / "src" / name).mkdir(parents=True)
    (folder / "src" / name / "__init__.py").write_text("")
    (folder / "pyproject.toml").write_text(MEMBER.format(name=name))
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A uv workspace (a root that depends on one member) with a real uv.lock; nothing in it
    needs an index."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text(ROOT)
    _member(root, "liba")
    subprocess.run(
        [uv_bin(), "lock", "--quiet", "--offline"],
        cwd=root,
        check=True,
        env=_environ(tmp_path),
    )
    return root


def _environ(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "XDG_"))}
    return env | {"HOME": str(tmp_path / "home"), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def _ctx(tmp_path: Path) -> Context:
    return Context(cache_dir=tmp_path / "cache", environ=_environ(tmp_path), offline=True)


def _export(root: Path, ctx: Context, uv: Path | None = None) -> dict[str, Any]:
    return export_uv_lock(
        LockSource(root / "uv.lock", "uv.lock", sha256_file(root / "uv.lock")),
        uv or uv_bin(),
        offline=True,
        env=uv_env(ctx),
        cache_dir=ctx.cache_dir,
    )


def _entries(ctx: Context) -> list[Path]:
    folder = ctx.cache_dir / cache_mod.EXPORTS
    return sorted(p for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_an_unchanged_project_is_read_from_the_memo(tmp_path: Path, workspace: Path) -> None:
    ctx = _ctx(tmp_path)
    first = _export(workspace, ctx)
    packages = {p["name"]: p for p in first["packages"]}
    assert packages["liba"]["directory"]["path"] == str(workspace / "packages" / "liba")

    # Nothing changed: uv is not asked again (a uv that does not exist would fail).
    again = _export(workspace, ctx, uv=tmp_path / "no-uv-here")
    assert again == first
    [entry] = _entries(ctx)
    assert (entry / "pylock.toml").is_file() and (entry / cache_mod.MARKER).is_file()


def test_a_new_dependency_is_still_a_stale_lock(tmp_path: Path, workspace: Path) -> None:
    ctx = _ctx(tmp_path)
    _export(workspace, ctx)
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["liba"]', '["liba", "six"]'))
    with pytest.raises(LockError) as err:
        _export(workspace, ctx)
    message = str(err.value)
    assert message.startswith(f"{workspace / 'uv.lock'} is out of date with {pyproject} (uv says: ")
    assert message.endswith("); run `uv lock` and commit the result")
    assert len(_entries(ctx)) == 1  # the failed export left nothing to trust


def test_a_new_workspace_member_is_decided_by_uv(tmp_path: Path, workspace: Path) -> None:
    ctx = _ctx(tmp_path)
    _export(workspace, ctx)
    _member(workspace, "libb")  # matches packages/*: the lock no longer covers the workspace
    with pytest.raises(LockError) as err:
        _export(workspace, ctx)
    assert str(err.value).endswith("); run `uv lock` and commit the result")


def test_a_member_edit_is_decided_by_uv(tmp_path: Path, workspace: Path) -> None:
    ctx = _ctx(tmp_path)
    _export(workspace, ctx)
    member = workspace / "packages" / "liba" / "pyproject.toml"
    member.write_text(member.read_text().replace("dependencies = []", 'dependencies = ["six"]'))
    with pytest.raises(LockError) as err:
        _export(workspace, ctx)
    assert str(err.value).endswith("); run `uv lock` and commit the result")


def _key(root: Path, environ: dict[str, str]) -> str | None:
    return export_key(root / "uv.lock", ARGS, environ, "0.13.9")


def test_what_the_key_covers(tmp_path: Path, workspace: Path) -> None:
    environ = _environ(tmp_path)
    base = _key(workspace, environ)
    assert base is not None and base == _key(workspace, dict(environ))
    assert export_key(workspace / "uv.lock", [*ARGS, "--extra", "x"], environ, "0.13.9") != base
    assert export_key(workspace / "uv.lock", ARGS, environ, "0.14.0") != base
    assert _key(workspace, environ | {"UV_INDEX_URL": "http://127.0.0.1:9/simple"}) != base
    assert _key(workspace, environ | {"UV_CACHE_DIR": str(tmp_path / "elsewhere")}) == base
    (workspace / "uv.toml").write_text('index-url = "http://127.0.0.1:9/simple"\n')
    assert _key(workspace, environ) != base
    (workspace / "uv.toml").unlink()
    user = Path(environ["HOME"]) / ".config" / "uv" / "uv.toml"
    user.parent.mkdir(parents=True)
    user.write_text("offline = true\n")
    assert _key(workspace, environ) != base
    user.unlink()
    assert _key(workspace, environ) == base


def test_projects_whose_metadata_a_backend_computes_are_never_memoised(
    tmp_path: Path, workspace: Path
) -> None:
    environ = _environ(tmp_path)
    member = workspace / "packages" / "liba" / "pyproject.toml"
    text = member.read_text()
    member.write_text(text.replace('version = "0.1.0"', 'dynamic = ["version"]'))
    assert _key(workspace, environ) is None
    member.write_text(text)
    root = workspace / "pyproject.toml"
    root.write_text(root.read_text().replace("[project]", "[tool.other]"))
    assert _key(workspace, environ) is None


def test_a_lock_naming_something_other_than_a_file_is_not_read(
    tmp_path: Path, workspace: Path
) -> None:
    """A crafted uv.lock whose path source is a FIFO (reading it would block for ever) or a
    directory: the key is not made, uv decides."""
    environ = _environ(tmp_path)
    lock = workspace / "uv.lock"
    text = lock.read_text()
    fifo = workspace / "vendor.whl"
    os.mkfifo(fifo)
    vendor = '\n[[package]]\nname = "vendor"\nsource = {{ path = "{}" }}\n'
    for target in ("vendor.whl", "packages"):
        lock.write_text(text + vendor.format(target))
        assert _key(workspace, environ) is None
    lock.write_text(text + vendor.format("gone.whl"))
    assert _key(workspace, environ) is not None
