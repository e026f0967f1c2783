"""Interpreters: python-build-standalone assets, resolved from a request for a target, fetched
into the cache and verified, or taken from a local archive."""

from .asset import InterpreterArchive, local_archive
from .catalog import Asset, Catalog
from .fetch import cached_archives, obtain_interpreter, resolve_asset
from .mirror import UPSTREAM, mirror_base
from .pin import PIN_FILE, Pin, read_pins, write_pins
from .request import DEFAULT_FLAVOR, FLAVORS, VARIANTS, Flavor, Request, Variant, parse_request

__all__ = [
    "DEFAULT_FLAVOR",
    "FLAVORS",
    "PIN_FILE",
    "UPSTREAM",
    "VARIANTS",
    "Asset",
    "Catalog",
    "Flavor",
    "InterpreterArchive",
    "Pin",
    "Request",
    "Variant",
    "cached_archives",
    "local_archive",
    "mirror_base",
    "obtain_interpreter",
    "parse_request",
    "read_pins",
    "resolve_asset",
    "write_pins",
]
