"""What a user asks for when naming an interpreter: `3.12`, `3.12.7`, `3.12.7+20241016` (a
python-build-standalone release tag), `3.13t` (free-threaded), plus a variant and a flavour;
parsed once into a frozen Request that says which archives satisfy it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal, cast, get_args

from ..errors import ConfigError

Variant = Literal["default", "freethreaded"]
Flavor = Literal["install_only_stripped", "install_only"]
VARIANTS: tuple[str, ...] = get_args(Variant)
FLAVORS: tuple[str, ...] = get_args(Flavor)
DEFAULT_FLAVOR: Flavor = "install_only_stripped"

_REQUEST = re.compile(
    r"^(?:cpython-?)?(?P<release>\d+(?:\.\d+){0,2})(?P<pre>(?:a|b|rc)\d+)?(?P<ft>t)?"
    r"(?:\+(?P<tag>\d{8}))?$"
)
_VERSION = re.compile(r"^(?P<release>\d+\.\d+\.\d+)(?P<pre>(?:a|b|rc)\d+)?$")
_FORMS = (
    "expected a version like 3.12, 3.12.7, 3.12.7+20241016 (a release tag) or 3.13t (free-threaded)"
)


@dataclass(frozen=True)
class Request:
    """A parsed interpreter request. An empty `release` means "the newest final release"."""

    release: tuple[int, ...] = ()
    pre: str | None = None  # "rc1": only with a full x.y.z release
    tag: str | None = None
    freethreaded: bool = False
    flavor: Flavor | None = None  # None: install_only_stripped where the release has it

    def __str__(self) -> str:
        text = ".".join(map(str, self.release)) or "newest"
        text += (self.pre or "") + ("t" if self.freethreaded else "")
        return text + (f"+{self.tag}" if self.tag else "")

    def accepts(self, *, version: str, tag: str | None, freethreaded: bool, flavor: str) -> bool:
        """Whether an archive of CPython `version` from release `tag` satisfies this request."""
        if freethreaded != self.freethreaded:
            return False
        if self.tag is not None and tag != self.tag:
            return False
        if self.flavor is not None and flavor != self.flavor:
            return False
        return self.accepts_version(version)

    def accepts_version(self, version: str) -> bool:
        m = _VERSION.match(version)
        if m is None:
            return False
        release = tuple(int(p) for p in m["release"].split("."))
        if release[: len(self.release)] != self.release:
            return False
        # Pre-releases only when asked for by name: "3.14" means a final 3.14.x.
        return m["pre"] == self.pre


def parse_request(
    text: str | None, *, variant: str | None = None, flavor: str | None = None
) -> Request:
    """Parse a request with its variant (`default`, `freethreaded`) and flavour
    (`install_only_stripped`, `install_only`); None means "not given"."""
    if variant is not None and variant not in VARIANTS:
        raise ConfigError(
            f"unknown Python variant {variant!r}{_did_you_mean(variant, VARIANTS)}; "
            f"use one of: {', '.join(VARIANTS)}"
        )
    if flavor is not None and flavor not in FLAVORS:
        raise ConfigError(
            f"unknown Python flavor {flavor!r}{_did_you_mean(flavor, FLAVORS)}; "
            f"use one of: {', '.join(FLAVORS)}"
        )
    chosen_flavor = cast("Flavor | None", flavor)
    if text is None or not text.strip():
        return Request(freethreaded=variant == "freethreaded", flavor=chosen_flavor)
    m = _REQUEST.match(text.strip().lower())
    if m is None:
        raise ConfigError(f"invalid Python request {text!r}: {_FORMS}")
    release = tuple(int(p) for p in m["release"].split("."))
    if release[0] != 3:
        raise ConfigError(f"invalid Python request {text!r}: pack bundles CPython 3 only")
    if m["pre"] and len(release) != 3:
        raise ConfigError(
            f"invalid Python request {text!r}: name a pre-release in full, e.g. 3.14.0rc1"
        )
    freethreaded = bool(m["ft"])
    if freethreaded and variant == "default":
        raise ConfigError(
            f"Python request {text!r} asks for a free-threaded build but the variant is "
            "'default'; drop the 't' or the --python-variant option"
        )
    freethreaded = freethreaded or variant == "freethreaded"
    if freethreaded and len(release) > 1 and release[:2] < (3, 13):
        raise ConfigError(
            f"Python request {text!r}: free-threaded builds exist from CPython 3.13 on"
        )
    return Request(
        release=release, pre=m["pre"], tag=m["tag"], freethreaded=freethreaded, flavor=chosen_flavor
    )


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    near = difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {near[0]}?)" if near else ""
