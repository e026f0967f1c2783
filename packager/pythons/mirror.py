"""Where python-build-standalone releases are fetched from: upstream GitHub releases, or a
mirror with the same layout (`<base>/<tag>/<filename>`, as uv's `UV_PYTHON_INSTALL_MIRROR`)
over http(s) or file://; and each release's `SHA256SUMS`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from pack_runtime import sums

from ..context import Context
from ..download import NotFoundError, fetch_bytes
from ..errors import ConfigError, NetworkError

UPSTREAM = "https://github.com/astral-sh/python-build-standalone/releases/download"
# Read in this order after --python-mirror; uv's variable too, so sites that already mirror
# interpreters for uv need nothing new.
MIRROR_ENV = ("PACK_PYTHON_MIRROR", "UV_PYTHON_INSTALL_MIRROR")


def mirror_base(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """The mirror base URL configured by `explicit` (--python-mirror or the `python-mirror`
    key) or the environment, or None for upstream. A local directory becomes a file:// URL."""
    if explicit:
        return _normalize(explicit, "--python-mirror")
    for name in MIRROR_ENV:
        if environ.get(name):
            return _normalize(environ[name], name)
    return None


def _normalize(value: str, origin: str) -> str:
    value = value.strip()
    scheme = urlsplit(value).scheme
    if scheme in ("http", "https", "file"):
        return value.rstrip("/")
    if not scheme and value:
        return Path(value).expanduser().absolute().as_uri()
    raise ConfigError(
        f"{origin}: {value!r} is not a mirror; use an http(s):// or file:// URL or a local "
        "directory laid out as <base>/<release tag>/<file name>"
    )


def asset_url(base: str, tag: str, filename: str) -> str:
    return f"{base.rstrip('/')}/{tag}/{quote(filename)}"


def sums_url(base: str, tag: str) -> str:
    return f"{base.rstrip('/')}/{tag}/SHA256SUMS"


def release_sums(ctx: Context, base: str, tag: str) -> dict[str, str]:
    """The digests release `tag` publishes, read from `<base>/<tag>/SHA256SUMS`. Raises
    NotFoundError when the mirror has no such file."""
    url = sums_url(base, tag)
    try:
        data = fetch_bytes(ctx, url, label=f"{tag}/SHA256SUMS")
    except NotFoundError as exc:
        raise NotFoundError(
            f"release {tag} is not at {base} ({url} was not found); check the release tag "
            "and the mirror",
            url,
        ) from exc
    try:
        listed = sums.as_dict(data.decode("utf-8", errors="replace"), url)
    except sums.SumsError as exc:
        raise NetworkError(f"{exc}; the mirror is incomplete or not a mirror") from None
    if not listed:
        raise NetworkError(f"{url} lists no files; the mirror is incomplete or not a mirror")
    return listed


def asset_sum(ctx: Context, base: str, tag: str, filename: str) -> str | None:
    """The digest in `<filename>.sha256` beside an asset: releases before 2024 published one
    per file instead of a SHA256SUMS. None when there is none."""
    url = asset_url(base, tag, filename) + ".sha256"
    try:
        data = fetch_bytes(ctx, url, label=f"{filename}.sha256")
    except NotFoundError:
        return None
    try:
        return sums.digest_for(data.decode("utf-8", errors="replace"), url, filename)
    except sums.SumsError as exc:
        raise NetworkError(f"{exc}; the mirror is incomplete or not a mirror") from None
