"""PEP 440 versions, parsed and ordered as `packaging.version` orders them (epoch, release with
trailing zeros ignored, pre/post/dev releases, local labels), in the standard library only:
`self update` compares the running version with the one a channel offers."""

from __future__ import annotations

import re
from typing import Any

# The pattern of PEP 440 Appendix B (as packaging.version.VERSION_PATTERN).
_PATTERN = re.compile(
    r"""
    ^\s*v?
    (?:
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
        (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
    )
    (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
    \s*$
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Pre-release letters by rank: a < b < rc (c, pre and preview are spellings of rc).
_PRE = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "c": 2, "pre": 2, "preview": 2, "rc": 2}
_INF = float("inf")
_NEG_INF = float("-inf")

Key = tuple[Any, ...]


class InvalidVersion(ValueError):
    """Not a PEP 440 version."""


def sort_key(version: str) -> Key:
    """A key that orders versions as PEP 440 does; raises InvalidVersion."""
    m = _PATTERN.match(version)
    if m is None:
        raise InvalidVersion(f"{version!r} is not a PEP 440 version")
    epoch = int(m.group("epoch") or 0)
    release = [int(x) for x in m.group("release").split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = None
    if m.group("pre_l"):
        pre = (_PRE[m.group("pre_l").lower()], int(m.group("pre_n") or 0))
    post = None
    if m.group("post"):
        post = int(m.group("post_n1") or m.group("post_n2") or 0)
    dev = int(m.group("dev_n") or 0) if m.group("dev_l") else None
    local = m.group("local")

    # As packaging's _cmpkey: a dev release without pre or post sorts before the pre-releases
    # of its release; no pre-release sorts after every pre-release; and so on. Only numbers
    # are compared with numbers.
    pre_key: Any
    if pre is None and post is None and dev is not None:
        pre_key = (_NEG_INF,)
    elif pre is None:
        pre_key = (_INF,)
    else:
        pre_key = (0, *pre)
    post_key: Any = (_NEG_INF,) if post is None else (post,)
    dev_key: Any = (_INF,) if dev is None else (dev,)
    if local is None:
        local_key: Any = ((_NEG_INF, ""),)
    else:
        local_key = tuple(
            (int(part), "") if part.isdigit() else (_NEG_INF, part.lower())
            for part in re.split(r"[-_\.]", local)
        )
    return (epoch, tuple(release), pre_key, post_key, dev_key, local_key)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`."""
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)
