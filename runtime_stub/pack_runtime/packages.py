"""`self packages`: the distributions installed in the bundle's venv, read from their
`.dist-info` metadata with importlib.metadata pointed at the venv's site-packages only."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(site_packages: Sequence[Path]) -> list[Distribution]:
    """The distributions under `site_packages`, sorted by normalized name. An explicit path
    keeps the stub's own sys.path (and anything else on the host) out of the answer."""
    found: dict[str, Distribution] = {}
    for dist in importlib.metadata.distributions(path=[str(p) for p in site_packages]):
        # dist.metadata["Name"] rather than dist.name: the property is 3.10+.
        name = dist.metadata["Name"]
        if not name:
            continue
        found.setdefault(_normalized(name), Distribution(name, dist.version))
    return [found[key] for key in sorted(found)]
