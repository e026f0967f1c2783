"""Where the files pack ships beside its code live: `templates/` and the runtime stub, found
the same way in a checkout (editable install) and in an installed wheel."""

from __future__ import annotations

import re
from pathlib import Path

import pack_runtime

_PKG = Path(__file__).parent


def templates_dir() -> Path:
    installed = _PKG / "_templates"
    return installed if installed.is_dir() else _PKG.parent / "templates"


def template(name: str) -> str:
    return (templates_dir() / name).read_text(encoding="utf-8")


def runtime_stub_package() -> Path:
    """The `pack_runtime` package directory copied into every bundle."""
    return Path(pack_runtime.__file__).parent


def render(text: str, values: dict[str, str]) -> str:
    """Replace each `@KEY@` in `text`; a placeholder left unreplaced is a bug in pack."""
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z][A-Z_]*@", text)
    if leftover:
        raise AssertionError(f"template placeholders not filled: {leftover}")
    return text
