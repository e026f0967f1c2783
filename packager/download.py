"""The one way pack fetches a file (interpreters now, wheels later): streamed into a temp file
beside its destination, retried with capped jittered backoff (resuming with `Range` where the
server allows it), checked against its sha256 and only then renamed into place."""

from __future__ import annotations

import email.utils
import hashlib
import io
import os
import random
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from . import __version__
from ._fs import staged_file
from .context import Context
from .errors import ChecksumError, NetworkError, PackError, disk_error

if TYPE_CHECKING:
    import httpx

_CHUNK = 1 << 16
# Statuses worth another attempt: the server is overloaded or failing, not refusing.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class NotFoundError(NetworkError):
    """The server (or the file system, for file:// URLs) says the file does not exist: no
    retry can help, and callers may explain what does exist instead."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


def http_client(*, timeout: float = 30.0) -> httpx.Client:
    """The one factory for pack's HTTP clients. `trust_env` takes proxies (`HTTPS_PROXY`,
    `NO_PROXY`) and CA bundles (`SSL_CERT_FILE`, `SSL_CERT_DIR`) from the environment, as
    corporate networks and air-gap mirrors need."""
    # Imported here: a build from a local interpreter archive and wheelhouse never downloads.
    import httpx

    return httpx.Client(
        trust_env=True,
        follow_redirects=True,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": f"pack/{__version__}", "Accept-Encoding": "identity"},
    )


def is_local(url: str) -> bool:
    """True for file:// URLs, which work offline."""
    return urlsplit(url).scheme == "file"


def url_to_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise NetworkError(
            f"{url}: file:// URLs must name a local path (file:///path), not host {parts.netloc!r}"
        )
    from urllib.request import url2pathname  # it loads http.client, ssl and email: only here

    return Path(url2pathname(unquote(parts.path)))


class _Retry(Exception):
    """One attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Transfer:
    """What carries from one attempt to the next: the bytes already in the sink (and their
    running hash), and what the server told us about resuming."""

    sink: BinaryIO
    have: int = 0
    total: int | None = None
    ranges_ok: bool = True
    validator: str | None = None  # strong ETag or Last-Modified, sent as If-Range
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)

    def restart(self) -> None:
        self.sink.seek(0)
        self.sink.truncate()
        self.have = 0
        self.hasher = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.sink.write(chunk)
        self.hasher.update(chunk)
        self.have += len(chunk)


def download(
    ctx: Context,
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    label: str,
    retries: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 10.0,
    timeout: float = 30.0,
) -> Path:
    """Fetch `url` (http, https or file) to `dest` and return `dest`. The bytes go to a temp
    file beside `dest` and are renamed into place only after their sha256 matched `sha256`
    (None: not checked, for files whose digest is not known yet). On any failure nothing is
    left behind. Callers that share `dest` between processes hold a lock around this."""
    _refuse_offline(ctx, url, dest.name)
    with staged_file(dest) as tmp, open(tmp, "r+b") as sink:
        transfer = _Transfer(sink)
        _fetch(ctx, url, transfer, label, retries, backoff, max_backoff, timeout, where=dest)
        digest = transfer.hasher.hexdigest()
        if sha256 is not None and digest != sha256.lower():
            raise ChecksumError(
                f"{url}: sha256 is {digest}, expected {sha256.lower()}; the download is corrupt "
                "or the file was replaced upstream; nothing was kept: check the mirror and retry"
            )
        _sync(sink, dest)
    return dest


def fetch_bytes(
    ctx: Context,
    url: str,
    *,
    label: str,
    retries: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 10.0,
    timeout: float = 30.0,
) -> bytes:
    """Fetch a small file (a SHA256SUMS list) into memory, with the same retries as
    `download`."""
    _refuse_offline(ctx, url, urlsplit(url).path.rsplit("/", 1)[-1])
    transfer = _Transfer(io.BytesIO())
    _fetch(ctx, url, transfer, label, retries, backoff, max_backoff, timeout, where=None)
    transfer.sink.seek(0)
    return transfer.sink.read()


def _refuse_offline(ctx: Context, url: str, name: str) -> None:
    if ctx.offline and not is_local(url):
        raise NetworkError(
            f"offline (--offline): {name} is needed from {url}; "
            "run once with network access, or provide the file locally"
        )


def _sync(sink: BinaryIO, dest: Path) -> None:
    # The cache writes its `.provisioned` marker after this file: flush the data first so a
    # power loss cannot leave a marked entry with a hole in it.
    try:
        sink.flush()
        os.fsync(sink.fileno())
    except OSError as exc:
        if disk := disk_error(exc, f"writing {dest}"):
            raise disk from exc
        raise PackError(f"writing {dest} failed: {exc}; check free space in {dest.parent}") from exc


def _fetch(
    ctx: Context,
    url: str,
    transfer: _Transfer,
    label: str,
    retries: int,
    backoff: float,
    max_backoff: float,
    timeout: float,
    *,
    where: Path | None,
) -> None:
    if is_local(url):
        _copy_local(ctx, url, transfer, label, where)
        return
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise NetworkError(f"cannot download {url}: only http, https and file URLs are supported")
    attempts = max(1, retries + 1)
    with http_client(timeout=timeout) as client:
        for attempt in range(1, attempts + 1):
            try:
                _attempt(ctx, client, url, transfer, label, where)
                return
            except _Retry as failed:
                if attempt == attempts:
                    raise NetworkError(
                        f"could not download {url}: {failed.reason} (gave up after {attempts} "
                        "attempts); check the network, proxy (HTTPS_PROXY) and CA settings "
                        "(SSL_CERT_FILE), or use a mirror"
                    ) from failed
                delay = _delay(attempt, failed.retry_after, backoff, max_backoff)
                ctx.reporter.warn(
                    f"{label}: {failed.reason}; retrying in {delay:.1f}s "
                    f"(attempt {attempt + 1} of {attempts})"
                )
                time.sleep(delay)


def _delay(attempt: int, retry_after: float | None, backoff: float, max_backoff: float) -> float:
    if retry_after is not None:
        # The server said when; honour it, but never wait longer than the cap.
        return min(max_backoff, retry_after)
    # "Equal jitter": at least half the exponential step, so retries from many CI jobs that
    # failed together spread out without ever retrying immediately.
    step = min(max_backoff, backoff * 2.0 ** (attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


def _attempt(
    ctx: Context,
    client: httpx.Client,
    url: str,
    transfer: _Transfer,
    label: str,
    where: Path | None,
) -> None:
    headers: dict[str, str] = {}
    if transfer.have and transfer.ranges_ok:
        headers["Range"] = f"bytes={transfer.have}-"
        if transfer.validator:
            headers["If-Range"] = transfer.validator
    elif transfer.have:
        transfer.restart()
    import httpx  # loaded by http_client, which made `client`

    try:
        with client.stream("GET", url, headers=headers) as response:
            _accept(response, url, transfer, ranged="Range" in headers)
            advance = ctx.reporter.progress(label, transfer.total)
            if transfer.have:
                advance(transfer.have)
            # Raw bytes (no Content-Encoding decoding: a .tar.gz stays as published), taken
            # as they arrive so a dropped connection keeps every byte received for the resume.
            for chunk in response.iter_raw():
                try:
                    transfer.write(chunk)
                except OSError as exc:
                    if disk := disk_error(exc, f"writing {where or 'a download'}"):
                        raise disk from exc
                    raise PackError(
                        f"writing {where or 'download'} failed: {exc}; "
                        f"check free space in {where.parent if where else 'the cache'}"
                    ) from exc
                advance(len(chunk))
    except httpx.TimeoutException as exc:
        raise _Retry(f"timed out ({type(exc).__name__})") from exc
    except (httpx.UnsupportedProtocol, httpx.TooManyRedirects) as exc:
        raise NetworkError(f"cannot download {url}: {exc}") from exc
    except httpx.TransportError as exc:
        if _is_name_resolution_error(exc):
            host = urlsplit(url).hostname or url
            raise NetworkError(
                f"cannot download {url}: the host name {host} does not resolve ({exc}); check "
                "the URL, DNS and proxy settings (HTTPS_PROXY), or use a mirror"
            ) from exc
        if _is_certificate_error(exc):
            raise NetworkError(
                f"cannot download {url}: the server's TLS certificate is not trusted ({exc}); "
                "point SSL_CERT_FILE at your CA bundle"
            ) from exc
        raise _Retry(f"{type(exc).__name__}: {exc or 'connection failed'}") from exc
    if transfer.total is not None and transfer.have != transfer.total:
        raise _Retry(f"connection closed after {transfer.have} of {transfer.total} bytes")


def _accept(response: httpx.Response, url: str, transfer: _Transfer, *, ranged: bool) -> None:
    """Check the status of one response and prepare `transfer` for its body."""
    status = response.status_code
    if status in (404, 410):
        raise NotFoundError(f"{url} was not found (HTTP {status}); check the URL or mirror", url)
    if status == 416 and ranged:
        # The partial file no longer fits what the server has: start over.
        transfer.ranges_ok = False
        transfer.restart()
        raise _Retry("the server refused to resume (HTTP 416)", retry_after=0.0)
    if status in _RETRY_STATUSES:
        raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("retry-after")))
    if status == 206 and ranged:
        start, total = _content_range(response.headers.get("content-range", ""))
        if start != transfer.have:
            transfer.ranges_ok = False
            transfer.restart()
            raise _Retry("the server resumed at the wrong offset", retry_after=0.0)
        transfer.total = total
        return
    if status != 200:
        raise NetworkError(
            f"could not download {url}: HTTP {status} {response.reason_phrase}; "
            "check the URL, mirror and credentials"
        )
    if ranged:
        # A 200 answer to a Range request is the whole file again: the server ignores
        # ranges (or the file changed, per If-Range), so never ask it for one again.
        transfer.ranges_ok = False
    if transfer.have:
        transfer.restart()
    if response.headers.get("accept-ranges", "").lower() == "none":
        transfer.ranges_ok = False
    length = response.headers.get("content-length")
    transfer.total = int(length) if length and length.isdigit() else None
    etag = response.headers.get("etag")
    strong = etag if etag and not etag.startswith("W/") else None
    transfer.validator = strong or response.headers.get("last-modified")


def _content_range(value: str) -> tuple[int, int | None]:
    """`bytes 100-199/200` -> (100, 200); unparsable -> (-1, None)."""
    try:
        unit, _, spec = value.partition(" ")
        span, _, size = spec.partition("/")
        start = int(span.split("-")[0])
        if unit.lower() != "bytes":
            return -1, None
        return start, int(size) if size.isdigit() else None
    except ValueError:
        return -1, None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_name_resolution_error(exc: BaseException) -> bool:
    """DNS said no: retrying within seconds will not change the answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return any(
        sign in text
        for sign in (
            "Name or service not known",
            "Temporary failure in name resolution",
            "nodename nor servname provided",
            "No address associated with hostname",
        )
    )


def _is_certificate_error(exc: BaseException) -> bool:
    import ssl  # loaded by httpx, which raised `exc`

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _copy_local(
    ctx: Context, url: str, transfer: _Transfer, label: str, where: Path | None
) -> None:
    source = url_to_path(url)
    try:
        size = source.stat().st_size
        with open(source, "rb") as f:
            advance = ctx.reporter.progress(label, size)
            while chunk := f.read(_CHUNK):
                transfer.write(chunk)
                advance(len(chunk))
    except FileNotFoundError as exc:
        raise NotFoundError(f"{url} was not found ({source} does not exist)", url) from exc
    except OSError as exc:
        if disk := disk_error(exc, f"copying {url} to {where or 'memory'}"):
            raise disk from exc
        raise NetworkError(f"could not copy {url} to {where or 'memory'}: {exc}") from exc
