"""Launchers: the POSIX sh script `bin/<name>` rendered from templates/launcher.sh for each
exposed entry point. A pure function from settings to bytes; the bundle step writes them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pack_runtime.layout import VENV, VENV_PYTHON

from .resources import render, template

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OBJECT_REF = re.compile(r"^(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?(\[.*\])?$")


@dataclass(frozen=True)
class Launchable:
    """What one launcher starts: an entry point a distribution declares, or a program it
    installs in venv/bin (bundle.json records it as a manifest.EntryPoint)."""

    name: str  # the command: bin/<name>
    module: str
    attr: str  # may be dotted: obj.method; "" runs the module as __main__
    distribution: str
    # A program the distribution installs in the venv's bin/ (ruff, uv): run directly.
    executable: str = ""

    @classmethod
    def program(cls, name: str, distribution: str) -> Launchable:
        """`venv/bin/<name>`, a native executable (or any script) a wheel installs."""
        return cls(name, "", "", distribution, executable=name)

    @property
    def reference(self) -> str:
        """`module:attr`, `module`, or `venv/bin/<program>`, as messages show it."""
        if self.executable:
            return f"{VENV}/bin/{self.executable}"
        return self.module + (f":{self.attr}" if self.attr else "")

    @classmethod
    def parse(cls, name: str, value: str, distribution: str) -> Launchable:
        m = _OBJECT_REF.match(value.strip())
        if not m:
            raise ValueError(f"invalid entry point reference {value!r}")
        return cls(name, m["module"], m["attr"] or "", distribution)


def sh_quote(value: str) -> str:
    """`value` as one sh word, whatever it holds (`$(`, backticks, quotes, newlines)."""
    return "'" + value.replace("'", "'\\''") + "'"


def _comment_text(value: str) -> str:
    """`value` made safe for a `#` comment line: a newline would end the comment."""
    return "".join(c if c.isprintable() else "?" for c in value)


def python_code(ep: Launchable) -> str:
    """What `python -c` runs: argv[0] becomes the launcher's path, then the entry point's
    return value is the exit status, as installer-generated console scripts do."""
    if not ep.attr:
        # Double quotes only: the code sits inside single quotes in the sh script.
        return (
            "import runpy,sys;del sys.argv[0];"
            f'runpy.run_module("{ep.module}",run_name="__main__",alter_sys=True)'
        )
    head, _, rest = ep.attr.partition(".")
    call = head + ("." + rest if rest else "")
    return f"import sys;del sys.argv[0];from {ep.module} import {head};sys.exit({call}())"


@dataclass(frozen=True)
class LauncherSettings:
    """What every launcher of one bundle shares: from [tool.pack] and the interpreter."""

    name: str
    version: str
    self_command: str = "self"
    env: Mapping[str, str] = field(default_factory=dict)
    prepend_path: Sequence[str] = ()
    isolated: bool = True
    python_minor: tuple[int, int] = (3, 11)

    # The environment rules below are the launcher's; `pack run` applies the same ones.

    @property
    def python_flags(self) -> tuple[str, ...]:
        # Not isolated: PYTHONPATH is the point; still no user site and no cwd on sys.path.
        if self.isolated:
            return ("-I",)
        return ("-P", "-s") if self.python_minor >= (3, 11) else ("-s",)

    @property
    def unset(self) -> tuple[str, ...]:
        # Not isolated keeps PYTHONPATH for the app and its children; PYTHONHOME always goes.
        return ("PYTHONHOME", "PYTHONPATH") if self.isolated else ("PYTHONHOME",)

    @property
    def path_dirs(self) -> tuple[str, ...]:
        """`prepend-path` entries, relative to the bundle root."""
        return tuple(p.strip("/") for p in self.prepend_path)

    def environ(
        self, base: Mapping[str, str], root: Path, *, first: Sequence[Path] = ()
    ) -> dict[str, str]:
        """`base` as the launcher of a bundle at `root` changes it (`first`: folders put
        before the prepended ones on PATH)."""
        env = dict(base)
        for key in self.unset:
            env.pop(key, None)
        env.update(self.env)
        dirs = [*(str(d) for d in first), *(str(root / p) for p in self.path_dirs)]
        env["PATH"] = os.pathsep.join([*dirs, *([env["PATH"]] if env.get("PATH") else [])])
        return env


def render_launcher(ep: Launchable, settings: LauncherSettings) -> bytes:
    s = settings
    setup: list[str] = []
    flags = " ".join(s.python_flags)
    for key in sorted(s.env):
        if not _ENV_NAME.match(key):
            raise ValueError(f"{key!r} is not a variable name")  # config.py refuses it first
        setup.append(f"{key}={sh_quote(s.env[key])}")
        setup.append(f"export {key}")
    if s.path_dirs:
        dirs = ":".join(f'"$root"/{sh_quote(p)}' for p in s.path_dirs)
        setup.append(f'PATH={dirs}"${{PATH:+:$PATH}}"')
        setup.append("export PATH")
    self_block = ""
    if s.self_command:
        self_block = render(
            template("self_dispatch.sh"),
            {"SELF_COMMAND": sh_quote(s.self_command), "ENTRY_Q": sh_quote(ep.name)},
        )
    text = render(
        template("launcher.sh"),
        {
            "ENTRY_TEXT": _comment_text(ep.name),
            "ENTRY_Q": sh_quote(ep.name),
            "NAME_TEXT": _comment_text(s.name),
            "VERSION_TEXT": _comment_text(s.version),
            "UNSET": " ".join(s.unset),
            "SETUP": "\n".join(s for s in setup if s),
            "SELF": self_block,
            "COMMAND": (
                f'"$root/{VENV}/bin/{ep.executable}"'
                if ep.executable
                else f'"$root/{VENV_PYTHON}" {flags} -c \'{python_code(ep)}\' "$0"'
            ),
        },
    )
    return text.replace("\n\n\n", "\n\n").encode()
