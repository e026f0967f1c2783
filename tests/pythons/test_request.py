"""Interpreter requests (packager/pythons/request.py): every accepted form, every refused one
with its message, and matching by version component."""

from __future__ import annotations

import pytest

from packager.errors import ConfigError
from packager.pythons import (
    parse_request,
)
from packager.pythons.request import Request


@pytest.mark.parametrize(
    ("text", "variant", "flavor", "expected"),
    [
        ("3.12", None, None, Request(release=(3, 12))),
        ("3.12.7", None, None, Request(release=(3, 12, 7))),
        (" 3.12.7+20241016 ", None, None, Request(release=(3, 12, 7), tag="20241016")),
        ("3.13t", None, None, Request(release=(3, 13), freethreaded=True)),
        ("3.13.1t+20250115", None, None, Request((3, 13, 1), tag="20250115", freethreaded=True)),
        ("3.13", "freethreaded", None, Request(release=(3, 13), freethreaded=True)),
        ("3.13t", "freethreaded", None, Request(release=(3, 13), freethreaded=True)),
        ("cpython-3.12", "default", None, Request(release=(3, 12))),
        ("3.14.0rc1", None, None, Request(release=(3, 14, 0), pre="rc1")),
        ("3", None, "install_only", Request(release=(3,), flavor="install_only")),
        (None, None, None, Request()),
        (None, "freethreaded", None, Request(freethreaded=True)),
    ],
)
def test_request_forms(
    text: str | None, variant: str | None, flavor: str | None, expected: Request
) -> None:
    assert parse_request(text, variant=variant, flavor=flavor) == expected


@pytest.mark.parametrize(
    ("text", "variant", "flavor", "message"),
    [
        (
            "python3",
            None,
            None,
            "invalid Python request 'python3': expected a version like 3.12, "
            "3.12.7, 3.12.7+20241016 (a release tag) or 3.13t (free-threaded)",
        ),
        (
            "3.12+2024",
            None,
            None,
            "invalid Python request '3.12+2024': expected a version like "
            "3.12, 3.12.7, 3.12.7+20241016 (a release tag) or 3.13t (free-threaded)",
        ),
        ("2.7", None, None, "invalid Python request '2.7': pack bundles CPython 3 only"),
        (
            "3.14rc1",
            None,
            None,
            "invalid Python request '3.14rc1': name a pre-release in full, e.g. 3.14.0rc1",
        ),
        (
            "3.12t",
            None,
            None,
            "Python request '3.12t': free-threaded builds exist from CPython 3.13 on",
        ),
        (
            "3.13t",
            "default",
            None,
            "Python request '3.13t' asks for a free-threaded build but the "
            "variant is 'default'; drop the 't' or the --python-variant option",
        ),
        (
            "3.13",
            "freethread",
            None,
            "unknown Python variant 'freethread' (did you mean "
            "freethreaded?); use one of: default, freethreaded",
        ),
        (
            "3.13",
            None,
            "install-only",
            "unknown Python flavor 'install-only' (did you mean "
            "install_only?); use one of: install_only_stripped, install_only",
        ),
    ],
)
def test_request_errors(text: str, variant: str | None, flavor: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_request(text, variant=variant, flavor=flavor)
    assert str(err.value) == message


def test_request_matching_is_by_version_component() -> None:
    req = parse_request("3.1")
    assert req.accepts_version("3.1.4")
    assert not req.accepts_version("3.12.0")  # a prefix of numbers, not of text
    minor = parse_request("3.14")
    assert minor.accepts_version("3.14.2")
    assert not minor.accepts_version("3.14.0rc1")  # pre-releases only by name
    assert parse_request("3.14.0rc1").accepts_version("3.14.0rc1")
    assert str(parse_request("3.13.1t+20250115")) == "3.13.1t+20250115"
    assert str(parse_request(None)) == "newest"
