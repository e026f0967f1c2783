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
    """Replace each `@KEY@` of the template `text` in one pass (a value is never scanned for
    placeholders: it may hold `@` signs); a placeholder without a value is a bug in pack."""
    missing = sorted(set(re.findall(r"@([A-Z][A-Z_]*)@", text)) - values.keys())
    if missing:
        raise AssertionError(f"template placeholders not filled: {missing}")
    return re.sub(r"@([A-Z][A-Z_]*)@", lambda m: values[m[1]], text)
