"""`pack.lock`: the interpreter pinned per target (file name, URL, sha256), so a project builds
with the same python-build-standalone archive until the pin is changed on purpose with
`pack python lock`. Other tables in the file are kept as they are."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from .._fs import atomic_write_text
from ..errors import ConfigError
from .catalog import Asset

PIN_FILE = "pack.lock"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEADER = (
    "# Written by `pack python lock`: the interpreter each target builds with.\n"
    "# Change a pin with `pack python lock REQUEST --target TARGET`.\n"
)


@dataclass(frozen=True)
class Pin:
    target: str
    filename: str
    url: str
    sha256: str
    request: str | None = None  # what was asked for when the pin was made

    @property
    def asset(self) -> Asset:
        asset = Asset.parse(self.filename, self.sha256)
        assert asset is not None  # checked by read_pins
        return asset


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc}); fix it or delete it and run `pack python lock`"
        ) from exc


def read_pins(path: Path) -> dict[str, Pin]:
    """The pins in `path` by target triple; {} when the file does not exist."""
    data = _load(path)
    table = data.get("python", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'python' must be a table of pins by target")
    pins: dict[str, Pin] = {}
    for triple, entry in table.items():
        where = f'{path}: python."{triple}"'
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")

        def text(key: str, entry: dict[str, Any] = entry, where: str = where) -> str:
            value = entry.get(key)
            if not isinstance(value, str) or not value:
                raise ConfigError(
                    f"{where}.{key} must be a non-empty string; run `pack python lock` to "
                    "rewrite the pin"
                )
            return value

        filename, url, sha256 = text("filename"), text("url"), text("sha256").lower()
        if not _SHA256.match(sha256):
            raise ConfigError(f"{where}.sha256 must be 64 hex digits, not {sha256!r}")
        asset = Asset.parse(filename, sha256)
        if asset is None:
            raise ConfigError(
                f"{where}.filename {filename!r} is not a python-build-standalone install_only "
                "archive name"
            )
        if asset.triple != triple:
            raise ConfigError(f"{where}.filename {filename!r} is for {asset.triple}, not {triple}")
        request = entry.get("request")
        pins[triple] = Pin(
            triple, filename, url, sha256, request if isinstance(request, str) else None
        )
    return pins


def write_pins(path: Path, pins: Mapping[str, Pin]) -> None:
    """Replace the `python` table of `path` with `pins` (atomically), keeping other tables."""
    data = _load(path)
    data.setdefault("version", 1)
    table: dict[str, dict[str, str]] = {}
    for triple in sorted(pins):
        pin = pins[triple]
        row = {"filename": pin.filename, "url": pin.url, "sha256": pin.sha256}
        if pin.request:
            row = {"request": pin.request, **row}
        table[triple] = row
    data["python"] = table
    atomic_write_text(path, _HEADER + tomli_w.dumps(data))
