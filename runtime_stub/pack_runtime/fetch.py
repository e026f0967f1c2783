"""Getting an update archive: from a local path or an http(s) URL, with the sha256 published
beside it (`<archive>.sha256`, sha256sum format) or given on the command line. The copy it
returns is the one whose bytes were hashed, so nothing can change between check and use."""

from __future__ import annotations

import hashlib
import http.client
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath
from typing import IO

from . import sums
from .errors import DISK_ERRNOS, ChecksumError, DiskError, NetworkError, RefusedError, StubError

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1 << 20
TIMEOUT = 60.0
USER_AGENT = "pack-runtime (self update)"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def check_digest_syntax(digest: str) -> str:
    if not _HEX64.match(digest):
        raise RefusedError(f"--sha256 {digest!r} is not a sha256 digest (64 hex digits)")
    return digest.lower()


def parse_sha256_file(text: str, where: str, archive_name: str) -> str:
    """The digest for `archive_name` in a sha256sum-format file."""
    try:
        return sums.digest_for(text, where, archive_name)
    except sums.SumsError as exc:
        raise ChecksumError(str(exc)) from None


def _copy_hashing(src: IO[bytes], dest: Path) -> str:
    """Copy while hashing. Errors writing `dest` become StubError (not OSError) so that a
    full disk is not reported as a network failure by the caller."""
    h = hashlib.sha256()
    try:
        out = open(dest, "wb")  # noqa: SIM115 (closed by the `with` below; its error differs)
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    with out:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            h.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise _write_error(dest, exc) from exc
    return h.hexdigest()


def _write_error(dest: Path, exc: OSError) -> StubError:
    kind = DiskError if exc.errno in DISK_ERRNOS else StubError
    return kind(f"cannot write {dest}: {exc.strerror}")


def _compare(source: str, expected: str, actual: str, copy: Path) -> None:
    if expected != actual:
        copy.unlink()
        raise ChecksumError(
            f"{source}: sha256 mismatch: expected {expected}, got {actual}; the archive is "
            "corrupt or not the one that was published"
        )


def is_plain_http(source: str) -> bool:
    return source.startswith("http://")


def fetch(source: str, into: Path, sha256: str | None = None, cafile: str | None = None) -> Path:
    """Copy (or download) `source` into the directory `into`, check its sha256 and return
    the copy. `cafile`: certificates to trust for https instead of the system's."""
    if is_url(source):
        return _fetch_url(source, into, sha256, _opener(cafile))
    return _fetch_file(Path(source), into, sha256)


def _fetch_file(path: Path, into: Path, sha256: str | None) -> Path:
    if not path.is_file():
        raise RefusedError(f"{path}: no such file")
    if sha256 is None:
        sums = path.with_name(path.name + ".sha256")
        if not sums.is_file():
            raise RefusedError(
                f"{sums} not found; pass --sha256 HEX with the digest published for {path.name}"
            )
        expected = parse_sha256_file(sums.read_text(errors="replace"), str(sums), path.name)
    else:
        expected = check_digest_syntax(sha256)
    copy = into / path.name
    with open(path, "rb") as src:
        actual = _copy_hashing(src, copy)
    _compare(str(path), expected, actual, copy)
    return copy


def _with_suffix(url: str, suffix: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path + suffix))


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follows redirects, except from https to anything else: a redirect to http would hand
    the download (and the digest beside it) to whoever sits on the path."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if req.full_url.startswith("https://") and not newurl.startswith("https://"):
            raise RefusedError(
                f"GET {req.full_url}: redirected to {newurl}, which is not https; refusing "
                "to leave https (fix the server, or give the final https URL)"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(cafile: str | None) -> urllib.request.OpenerDirector:
    try:
        context = ssl.create_default_context(cafile=cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise RefusedError(f"cannot load the certificates in {cafile}: {exc}") from exc
    return urllib.request.build_opener(_NoDowngrade(), urllib.request.HTTPSHandler(context=context))


def _open(opener: urllib.request.OpenerDirector, url: str) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response: http.client.HTTPResponse = opener.open(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise NetworkError(f"GET {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise NetworkError(f"GET {url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise NetworkError(f"GET {url}: {exc}") from exc
    return response


def _fetch_url(
    url: str, into: Path, sha256: str | None, opener: urllib.request.OpenerDirector
) -> Path:
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if name in ("", ".", "..") or "\0" in name:
        name = "update"
    if sha256 is None:
        sums_url = _with_suffix(url, ".sha256")
        with _open(opener, sums_url) as response:
            try:
                text = response.read(1 << 16).decode(errors="replace")
            except (OSError, http.client.HTTPException) as exc:
                raise NetworkError(f"GET {sums_url}: {exc}") from exc
        expected = parse_sha256_file(text, sums_url, name)
    else:
        expected = check_digest_syntax(sha256)
    copy = into / name
    with _open(opener, url) as response:
        length = response.headers.get("Content-Length")
        try:
            actual = _copy_hashing(response, copy)
        except (OSError, http.client.HTTPException) as exc:  # timeouts are OSErrors
            raise NetworkError(f"GET {url}: {exc}") from exc
    if length is not None and length.isdigit() and copy.stat().st_size != int(length):
        raise NetworkError(
            f"GET {url}: connection closed after {copy.stat().st_size} of {length} bytes"
        )
    _compare(url, expected, actual, copy)
    return copy


def read_small(source: str, limit: int, cafile: str | None = None) -> bytes:
    """The bytes of a small file (a signature, a channel's latest.json) at a path or URL,
    with the same https rules as archives; more than `limit` bytes is refused."""
    if is_url(source):
        with _open(_opener(cafile), source) as response:
            try:
                data = response.read(limit + 1)
            except (OSError, http.client.HTTPException) as exc:
                raise NetworkError(f"GET {source}: {exc}") from exc
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            raise RefusedError(f"{source}: no such file") from None
        except OSError as exc:
            raise StubError(f"cannot read {source}: {exc.strerror}") from exc
    if len(data) > limit:
        raise RefusedError(f"{source} is larger than {limit} bytes; it is not what pack publishes")
    return data


def beside(source: str, suffix: str) -> str:
    """The file published next to `source` (path or URL): `<source><suffix>`."""
    return _with_suffix(source, suffix) if is_url(source) else source + suffix
