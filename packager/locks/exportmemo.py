"""What `uv export --locked` of a uv.lock depends on, digested into a cache key: the lock, every
local project it points at (their pyproject.toml), the workspace's members, uv's configuration
files and environment, uv's version and the export's arguments. When they are all unchanged,
the previous export (kept in the cache) is the answer uv would give; anything else uv decides.
A project whose metadata is computed by its build backend (`dynamic`, or no [project]) is
always exported by uv."""

from __future__ import annotations

import glob
import hashlib
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._fs import sha256_file
from ..cache import cache_key

# Bump when what the key covers, or how an export is kept, changes.
EXPORT_MEMO_LAYOUT = 1

# A local source of the lock: `{ editable = "." }`, `{ directory = "libs/a" }`,
# `{ virtual = "." }`, `{ path = "vendor/x-1.0.whl" }`, in `source = ...` and in requires-dist.
_LOCAL = re.compile(r'\{\s*(editable|directory|virtual|path)\s*=\s*"((?:[^"\\]|\\.)*)"')

# uv's settings reach it through these (UV_CACHE_DIR only moves its cache).
_ENV_IGNORED = frozenset({"UV_CACHE_DIR", "UV_NO_PROGRESS"})


class _NotMemoisable(Exception):
    """An input the key cannot cover: uv is asked every time."""


def _digest(path: Path) -> str | None:
    """The sha256 of a regular file, None when nothing is there; anything else (a FIFO, a
    device, a directory named like a file) is not read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _NotMemoisable(str(path)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise _NotMemoisable(str(path))
    return sha256_file(path)


def _static_project(pyproject: Path) -> tuple[str, dict[str, Any]] | None:
    """The digest and the parsed pyproject.toml of a project uv reads without its build
    backend; None for any other."""
    try:
        if not pyproject.is_file():
            return None
        raw = pyproject.read_bytes()
        data = tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = data.get("project")
    if not isinstance(project, dict) or project.get("dynamic"):
        return None
    return hashlib.sha256(raw).hexdigest(), data


def _workspace_members(root: Path, data: Mapping[str, Any]) -> list[str] | None:
    """The directories the workspace's `members` globs match now (a new member makes the
    lock stale without any file the key covers changing)."""
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    workspace = uv.get("workspace") if isinstance(uv, dict) else None
    if workspace is None:
        return []
    if not isinstance(workspace, dict):
        return None
    found: set[str] = set()
    for key in ("members", "exclude"):
        patterns = workspace.get(key, [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            return None
        for pattern in patterns:
            # glob.glob, not Path.glob: a member pattern may be absolute or climb with `..`.
            matches = glob.glob(pattern, root_dir=root, recursive=True)  # noqa: PTH207
            found.update(f"{key}:{match}" for match in matches)
    return sorted(found)


def _config_files(cwd: Path, environ: Mapping[str, str]) -> list[Path]:
    """The files uv reads settings from: uv.toml and pyproject.toml of the project directory
    and its parents, the user's and the system's uv.toml."""
    files = [d / name for d in (cwd, *cwd.parents) for name in ("uv.toml", "pyproject.toml")]
    home = environ.get("HOME")
    config_home = environ.get("XDG_CONFIG_HOME") or (f"{home}/.config" if home else "")
    if config_home:
        files.append(Path(config_home) / "uv" / "uv.toml")
    for base in (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":"):
        if base:
            files.append(Path(base) / "uv" / "uv.toml")
    files.append(Path("/etc/uv/uv.toml"))
    return files


def export_key(
    lock: Path,
    argv: Sequence[str],
    environ: Mapping[str, str],
    uv_version: str,
) -> str | None:
    """The key of exporting `lock` with `argv` (uv's arguments, without the binary and the
    output file), or None when the export must be left to uv every time."""
    try:
        return _export_key(lock, argv, environ, uv_version)
    except _NotMemoisable:
        return None


def _export_key(
    lock: Path, argv: Sequence[str], environ: Mapping[str, str], uv_version: str
) -> str | None:
    cwd = lock.parent.resolve()
    try:
        lock_text = lock.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    root = _static_project(cwd / "pyproject.toml")
    members = _workspace_members(cwd, root[1]) if root is not None else None
    if members is None:
        return None
    files = {str(path): _digest(path) for path in _config_files(cwd, environ)}
    for kind, raw in sorted(set(_LOCAL.findall(lock_text))):
        if "\\" in raw:
            return None  # an escaped path: not worth a TOML parser of its own
        local = cwd / raw
        if kind == "path":
            files[str(local)] = _digest(local)
            continue
        project = _static_project(local / "pyproject.toml")
        if project is None:
            return None
        files[str(local / "pyproject.toml")] = project[0]
    env = {k: v for k, v in environ.items() if k.startswith("UV_") and k not in _ENV_IGNORED}
    return cache_key(
        {
            "layout": EXPORT_MEMO_LAYOUT,
            "uv": uv_version,
            "argv": list(argv),
            "cwd": str(cwd),
            "lock": hashlib.sha256(lock_text.encode()).hexdigest(),
            "members": members,
            "files": files,
            "env": env,
        }
    )
