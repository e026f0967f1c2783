"""`strip = [...]`: leaving known parts of the standard library out of a bundle's staged
`python/` tree. Files there may be hard links into the cache, so parts are only ever unlinked,
never written to or chmod-ed."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import BuildError, ConfigError

# Globs relative to the runtime root; `{stdlib}` is lib/python3.X (or 3.Xt). Folders go whole.
STRIPPABLE: dict[str, tuple[str, ...]] = {
    "test": (
        "{stdlib}/test",
        "{stdlib}/*/test",
        "{stdlib}/*/tests",
        "{stdlib}/idlelib/idle_test",
        "{stdlib}/lib-dynload/_test*",
        "{stdlib}/lib-dynload/_ctypes_test*",
        "{stdlib}/lib-dynload/_xxtestfuzz*",
        "{stdlib}/lib-dynload/xxlimited*",
    ),
    "idlelib": ("{stdlib}/idlelib", "bin/idle3*"),
    "tkinter": (
        "{stdlib}/tkinter",
        "{stdlib}/lib-dynload/_tkinter*",
        "lib/tcl8*",
        "lib/tk8*",
        "lib/tcl9*",
        "lib/tk9*",
        "lib/itcl*",
        "lib/thread2*",
        "lib/libtcl*",
        "lib/libtk*",
    ),
    "turtle": ("{stdlib}/turtle.py", "{stdlib}/__pycache__/turtle.*"),
    "turtledemo": ("{stdlib}/turtledemo",),
    "ensurepip": ("{stdlib}/ensurepip",),
    "lib2to3": ("{stdlib}/lib2to3", "bin/2to3*"),
    "pydoc_data": ("{stdlib}/pydoc_data",),
    "distutils": ("{stdlib}/distutils",),
    "pip": ("{stdlib}/site-packages/pip", "{stdlib}/site-packages/pip-*.dist-info", "bin/pip*"),
}


def check_strip_names(names: Sequence[str]) -> None:
    """Refuse a name the table does not know, suggesting the closest one."""
    for name in names:
        if name not in STRIPPABLE:
            close = difflib.get_close_matches(name, STRIPPABLE, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"[tool.pack] strip: unknown part {name!r}; {hint}"
                f"known parts: {', '.join(sorted(STRIPPABLE))}"
            )


def apply_strip(python_root: Path, names: Sequence[str], python_minor: str) -> list[str]:
    """Remove the parts `names` from the runtime tree at `python_root` and return what was
    removed, as sorted POSIX paths relative to `python_root`. `python_minor` is "3.12",
    "3.13t" or the stdlib folder name ("python3.12"). A name that matches nothing in this
    interpreter removes nothing."""
    check_strip_names(names)
    stdlib = python_minor if python_minor.startswith("python") else f"python{python_minor}"
    if not (python_root / "lib" / stdlib).is_dir():
        raise BuildError(
            f"cannot strip the standard library: {python_root / 'lib' / stdlib} is not a "
            "folder; the interpreter archive does not have the python-build-standalone layout"
        )
    removed: set[str] = set()
    for name in names:
        for pattern in STRIPPABLE[name]:
            for path in sorted(python_root.glob(pattern.format(stdlib=f"lib/{stdlib}"))):
                rel = path.relative_to(python_root).as_posix()
                if "/site-packages/" in rel and name != "pip":
                    continue  # `*/test` must never reach into installed packages
                _unlink_tree(path)
                removed.add(rel)
    return sorted(removed)


def _unlink_tree(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    # Bottom-up: unlink files (hard links to the cache lose one name, nothing more), then
    # remove the emptied folders.
    for folder, dirs, files in os.walk(path, topdown=False):
        for name in files:
            (Path(folder) / name).unlink()
        for name in dirs:
            sub = Path(folder) / name
            if sub.is_symlink():
                sub.unlink()
            else:
                sub.rmdir()
    path.rmdir()
