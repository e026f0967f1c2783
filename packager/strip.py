"""`strip = [...]`: leaving known parts of the standard library out of a bundle's staged
`python/` tree, by name or by the `slim` preset. Files there may be hard links into the cache,
so parts are only ever unlinked (or linked under another name), never written to or chmod-ed."""

from __future__ import annotations

import difflib
import os
import shutil
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
    # C headers and pkg-config files: only for compiling extensions against this runtime.
    "headers": ("include", "lib/pkgconfig"),
    # Not globs: every stdlib module that has bytecode keeps only the bytecode (see _sourceless).
    "sources": (),
}

# What a bundle leaves out when the project says nothing: CPython's own test suites ("for
# internal use by Python only"; Debian and the Apple support packages split them out too).
# `strip = []` keeps everything.
DEFAULT_STRIP: tuple[str, ...] = ("test",)

# Parts whose sources are not compiled when a runtime is provisioned, since most builds strip
# them: a build that keeps one compiles it into the cache entry then (see runtime.py).
DEFERRED: tuple[str, ...] = ("test",)

# Presets: names that stand for several parts. `slim` is everything an application that is
# not a development tool can do without; what then stops working is in the README. `none`
# stands for no part: `--strip none` keeps everything, as `strip = []` does.
PRESETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "slim": (
        "test",
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
        "ensurepip",
        "lib2to3",
        "pydoc_data",
        "pip",
        "headers",
        "sources",
    ),
}


def expand_strip(names: Sequence[str]) -> tuple[str, ...]:
    """`names` with presets replaced by their parts, each part once, in the order given."""
    check_strip_names(names)
    out: dict[str, None] = {}
    for name in names:
        for part in PRESETS.get(name, (name,)):
            out[part] = None
    return tuple(out)


def check_strip_names(names: Sequence[str]) -> None:
    """Refuse a name the table does not know, suggesting the closest one."""
    for name in names:
        if name not in STRIPPABLE and name not in PRESETS:
            close = difflib.get_close_matches(name, [*STRIPPABLE, *PRESETS], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"[tool.pack] strip: unknown part {name!r}; {hint}"
                f"known parts: {', '.join(sorted(STRIPPABLE))}; presets: "
                f"{', '.join(sorted(PRESETS))}"
            )


def apply_strip(python_root: Path, names: Sequence[str], python_minor: str) -> list[str]:
    """Remove the parts `names` from the runtime tree at `python_root` and return what was
    removed, as sorted POSIX paths relative to `python_root`. `python_minor` is "3.12",
    "3.13t" or the stdlib folder name ("python3.12"). A name that matches nothing in this
    interpreter removes nothing. `sources` adds one line for all the sources it removed."""
    names = expand_strip(names)
    stdlib = python_minor if python_minor.startswith("python") else f"python{python_minor}"
    if not (python_root / "lib" / stdlib).is_dir():
        raise BuildError(
            f"cannot strip the standard library: {python_root / 'lib' / stdlib} is not a "
            "folder; the interpreter archive does not have the python-build-standalone layout"
        )
    removed: set[str] = set()
    for name in names:
        for path in part_paths(python_root, name, stdlib):
            _unlink_tree(path)
            removed.add(path.relative_to(python_root).as_posix())
    if "sources" in names:  # last: what the other parts remove need not be converted first
        count = _sourceless(python_root / "lib" / stdlib)
        removed.add(f"lib/{stdlib}/**/*.py ({count} sources with bytecode)")
    return sorted(removed)


def part_paths(python_root: Path, name: str, stdlib: str) -> list[Path]:
    """What the part `name` is in the runtime tree at `python_root` (files and whole folders,
    sorted); `stdlib` is the stdlib folder name ("python3.12"). `sources` has none."""
    found: list[Path] = []
    for pattern in STRIPPABLE[name]:
        for path in sorted(python_root.glob(pattern.format(stdlib=f"lib/{stdlib}"))):
            rel = path.relative_to(python_root).as_posix()
            if "/site-packages/" in rel and name != "pip":
                continue  # `*/test` must never reach into installed packages
            if any(path.is_relative_to(seen) for seen in found):
                continue  # inside a folder this part already takes whole
            found.append(path)
    return found


def _sourceless(stdlib: Path) -> int:
    """Every `X.py` of the standard library (not its site-packages) with bytecode in
    `__pycache__/X.<tag>.pyc` becomes `X.pyc` (a hard link to that bytecode; a copy where
    links fail) and loses its source: CPython imports a `.pyc` beside where the source was
    when the source is missing, never from `__pycache__`. Returns how many sources went."""
    count = 0
    for folder, dirs, files in os.walk(stdlib):
        here = Path(folder)
        if here == stdlib:
            dirs[:] = [d for d in dirs if d != "site-packages"]
        cache = here / "__pycache__"
        for name in files:
            if not name.endswith(".py"):
                continue
            stem = name[:-3]
            # The runtime's own tag (cpython-3XY[t]); only the unoptimised bytecode (no
            # opt-1/opt-2), which is what pack compiles.
            found = sorted(cache.glob(f"{stem}.cpython-*.pyc")) if cache.is_dir() else []
            compiled = [c for c in found if c.is_file() and c.name.count(".") == 2]
            if not compiled:
                continue
            target = here / f"{stem}.pyc"
            try:
                os.link(compiled[0], target)
            except OSError:
                shutil.copyfile(compiled[0], target)
            compiled[0].unlink()
            (here / name).unlink()
            count += 1
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()  # emptied: a folder of its own, never a link into the cache
    return count


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
