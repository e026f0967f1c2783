"""The downloader against a real HTTP server on 127.0.0.1 that injects faults."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from packager.context import Context, RecordingReporter
from packager.download import (
    NotFoundError,
    _delay,
    _retry_after,
    download,
    fetch_bytes,
)
from packager.errors import ChecksumError, NetworkError
from tests.conftest import FaultServer

DATA = os.urandom(700_000)
SHA = hashlib.sha256(DATA).hexdigest()
FAST = {"backoff": 0.01, "max_backoff": 0.05}


class ProgressReporter(RecordingReporter):
    def __init__(self) -> None:
        super().__init__()
        self.bars: list[tuple[str, int | None]] = []
        self.advanced = 0

    def progress(self, label: str, total: int | None) -> Callable[[int], None]:
        self.bars.append((label, total))

        def advance(n: int) -> None:
            self.advanced += n

        return advance


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(cache_dir=tmp_path / "cache", reporter=ProgressReporter(), environ={})


@pytest.fixture
def server(fault_server: FaultServer) -> FaultServer:
    fault_server.files["/blob.bin"] = DATA
    return fault_server


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_downloads_verifies_and_reports_progress(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    dest = tmp_path / "out" / "blob.bin"
    assert download(ctx, server.url("/blob.bin"), dest, sha256=SHA, label="blob") == dest
    assert dest.read_bytes() == DATA
    assert leftovers(dest.parent) == ["blob.bin"]
    reporter = ctx.reporter
    assert isinstance(reporter, ProgressReporter)
    assert reporter.bars == [("blob", len(DATA))]
    assert reporter.advanced == len(DATA)


def test_500_then_success(ctx: Context, server: FaultServer, tmp_path: Path) -> None:
    server.fail("/blob.bin", ("status", 500), ("status", 503))
    dest = tmp_path / "blob.bin"
    download(ctx, server.url("/blob.bin"), dest, sha256=SHA, label="blob", **FAST)
    assert dest.read_bytes() == DATA
    assert [r["status"] for r in server.requests("/blob.bin")] == [500, 503, 200]
    warnings = [m for kind, m in ctx.reporter.messages if kind == "warn"]  # type: ignore[attr-defined]
    assert warnings[0].startswith("blob: HTTP 500; retrying in ")
    assert warnings[0].endswith("(attempt 2 of 6)")


def test_dropped_connection_resumes_with_range(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.fail("/blob.bin", ("drop", 300_000))
    dest = tmp_path / "blob.bin"
    download(ctx, server.url("/blob.bin"), dest, sha256=SHA, label="blob", **FAST)
    assert dest.read_bytes() == DATA
    first, second = server.requests("/blob.bin")
    assert first["range"] is None
    assert second["range"] == "bytes=300000-"
    assert second["if_range"] is not None  # the ETag: a changed file is sent whole
    assert second["status"] == 206


def test_server_ignoring_range_starts_over(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.honour_ranges = False
    server.fail("/blob.bin", ("drop", 300_000), ("drop", 200_000))
    dest = tmp_path / "blob.bin"
    download(ctx, server.url("/blob.bin"), dest, sha256=SHA, label="blob", **FAST)
    assert dest.read_bytes() == DATA
    log = server.requests("/blob.bin")
    # The first retry asks for a range, gets the whole file (200) and starts over; after
    # that the server is known to ignore ranges and is not asked again.
    assert [(r["range"], r["status"]) for r in log] == [
        (None, 200),
        ("bytes=300000-", 200),
        (None, 200),
    ]


def test_range_refused_with_416_starts_over(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.send_etags = False
    server.fail("/blob.bin", ("drop", 300_000))
    # The file shrinks between attempts: the resume offset is past its end.
    original = server._body

    def shrinking(path: str) -> bytes | None:
        return DATA[:1000] if server.log and len(server.log) > 1 else original(path)

    server._body = shrinking  # type: ignore[method-assign]
    dest = tmp_path / "blob.bin"
    download(
        ctx,
        server.url("/blob.bin"),
        dest,
        sha256=hashlib.sha256(DATA[:1000]).hexdigest(),
        label="blob",
        **FAST,
    )
    assert dest.read_bytes() == DATA[:1000]
    assert [r["status"] for r in server.requests("/blob.bin")] == [200, 416, 200]


def test_changed_file_is_fetched_whole_again(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.fail("/blob.bin", ("drop", 300_000))
    new = os.urandom(500_000)
    original = server._body

    def changing(path: str) -> bytes | None:
        return new if len(server.log) > 1 else original(path)

    server._body = changing  # type: ignore[method-assign]
    dest = tmp_path / "blob.bin"
    download(
        ctx,
        server.url("/blob.bin"),
        dest,
        sha256=hashlib.sha256(new).hexdigest(),
        label="blob",
        **FAST,
    )
    assert dest.read_bytes() == new
    assert server.requests("/blob.bin")[1]["status"] == 200  # If-Range did not match


def test_truncated_body_every_time_gives_up_and_leaves_nothing(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.honour_ranges = False
    server.fail("/blob.bin", *[("drop", 1000)] * 3)
    out = tmp_path / "out"
    url = server.url("/blob.bin")
    with pytest.raises(NetworkError) as err:
        download(ctx, url, out / "blob.bin", sha256=SHA, label="blob", retries=2, **FAST)
    assert str(err.value).startswith(f"could not download {url}: RemoteProtocolError: ")
    assert "(gave up after 3 attempts); check the network, proxy (HTTPS_PROXY)" in str(err.value)
    assert leftovers(out) == []


def test_wrong_checksum_names_both_digests_and_leaves_nothing(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.fail("/blob.bin", ("corrupt",))
    bad = hashlib.sha256(bytes([DATA[0] ^ 0xFF]) + DATA[1:]).hexdigest()
    url = server.url("/blob.bin")
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as err:
        download(ctx, url, out / "blob.bin", sha256=SHA.upper(), label="blob", **FAST)
    assert str(err.value) == (
        f"{url}: sha256 is {bad}, expected {SHA}; the download is corrupt or the file was "
        "replaced upstream; nothing was kept: check the mirror and retry"
    )
    assert leftovers(out) == []
    assert len(server.requests("/blob.bin")) == 1  # a mismatch is not retried


def test_404_names_the_url_and_is_not_retried(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    url = server.url("/missing.bin")
    with pytest.raises(NotFoundError) as err:
        download(ctx, url, tmp_path / "x", sha256=None, label="x", **FAST)
    assert str(err.value) == f"{url} was not found (HTTP 404); check the URL or mirror"
    assert err.value.url == url
    assert len(server.requests("/missing.bin")) == 1
    assert leftovers(tmp_path) == []


def test_other_client_errors_are_not_retried(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.fail("/blob.bin", ("status", 403))
    url = server.url("/blob.bin")
    with pytest.raises(NetworkError) as err:
        download(ctx, url, tmp_path / "x", sha256=None, label="x", **FAST)
    assert str(err.value) == (
        f"could not download {url}: HTTP 403 Forbidden; check the URL, mirror and credentials"
    )
    assert len(server.requests("/blob.bin")) == 1


def test_429_honours_retry_after_up_to_the_cap(
    ctx: Context, server: FaultServer, tmp_path: Path
) -> None:
    server.fail("/blob.bin", ("status", 429, {"Retry-After": "30"}))
    started = time.monotonic()
    download(
        ctx,
        server.url("/blob.bin"),
        tmp_path / "b",
        sha256=SHA,
        label="blob",
        backoff=0.01,
        max_backoff=0.4,
    )
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 5
    warnings = [m for kind, m in ctx.reporter.messages if kind == "warn"]  # type: ignore[attr-defined]
    assert warnings == ["blob: HTTP 429; retrying in 0.4s (attempt 2 of 6)"]


def test_timeouts_are_retried(ctx: Context, server: FaultServer, tmp_path: Path) -> None:
    server.fail("/blob.bin", ("stall", 1.0))
    dest = tmp_path / "blob.bin"
    download(ctx, server.url("/blob.bin"), dest, sha256=SHA, label="blob", timeout=0.3, **FAST)
    assert dest.read_bytes() == DATA
    warnings = [m for kind, m in ctx.reporter.messages if kind == "warn"]  # type: ignore[attr-defined]
    assert warnings[0].startswith("blob: timed out (ReadTimeout); retrying")


def test_connection_refused_gives_up(ctx: Context, tmp_path: Path) -> None:
    server = FaultServer()
    url = server.url("/blob.bin")
    server.close()  # nothing listens on that port any more
    with pytest.raises(NetworkError) as err:
        download(ctx, url, tmp_path / "b", sha256=None, label="b", retries=1, **FAST)
    assert "gave up after 2 attempts" in str(err.value)
    assert "ConnectError" in str(err.value)


def test_a_host_name_that_does_not_resolve_is_not_retried(ctx: Context, tmp_path: Path) -> None:
    # `.invalid` never resolves (RFC 2606); whatever DNS answers, asking again will not help.
    url = "https://pbs-mirror.invalid/20990101/cpython.tar.gz"
    with pytest.raises(NetworkError) as err:
        download(ctx, url, tmp_path / "b", sha256=None, label="b", retries=5, **FAST)
    message = str(err.value)
    assert message.startswith(
        f"cannot download {url}: the host name pbs-mirror.invalid does not resolve ("
    )
    assert message.endswith(
        "); check the URL, DNS and proxy settings (HTTPS_PROXY), or use a mirror"
    )
    assert isinstance(ctx.reporter, RecordingReporter)
    assert [m for m in ctx.reporter.messages if m[0] == "warn"] == []  # no "retrying in ..."
    assert leftovers(tmp_path) == []


def test_file_urls(ctx: Context, tmp_path: Path) -> None:
    source = tmp_path / "dir with space" / "a+b.bin"
    source.parent.mkdir()
    source.write_bytes(DATA)
    dest = tmp_path / "out.bin"
    download(ctx, source.as_uri(), dest, sha256=SHA, label="a")
    assert dest.read_bytes() == DATA
    missing = (tmp_path / "nope.bin").as_uri()
    with pytest.raises(NotFoundError) as err:
        download(ctx, missing, tmp_path / "x", sha256=None, label="x")
    assert str(err.value) == f"{missing} was not found ({tmp_path / 'nope.bin'} does not exist)"
    with pytest.raises(ChecksumError):
        download(ctx, source.as_uri(), tmp_path / "y", sha256="0" * 64, label="a")
    assert not (tmp_path / "y").exists()


def test_offline_refuses_the_network_but_not_file_urls(server: FaultServer, tmp_path: Path) -> None:
    ctx = Context(cache_dir=tmp_path, offline=True, environ={})
    url = server.url("/blob.bin")
    with pytest.raises(NetworkError) as err:
        download(ctx, url, tmp_path / "blob.bin", sha256=SHA, label="blob")
    assert str(err.value) == (
        f"offline (--offline): blob.bin is needed from {url}; run once with network access, "
        "or provide the file locally"
    )
    assert server.log == []
    local = tmp_path / "local.bin"
    local.write_bytes(DATA)
    download(ctx, local.as_uri(), tmp_path / "copy.bin", sha256=SHA, label="local")
    assert (tmp_path / "copy.bin").read_bytes() == DATA


def test_unsupported_scheme(ctx: Context, tmp_path: Path) -> None:
    with pytest.raises(NetworkError) as err:
        download(ctx, "ftp://example.org/x", tmp_path / "x", sha256=None, label="x")
    assert str(err.value) == (
        "cannot download ftp://example.org/x: only http, https and file URLs are supported"
    )


def test_fetch_bytes_retries_too(ctx: Context, server: FaultServer) -> None:
    server.files["/SHA256SUMS"] = b"abc  file\n"
    server.fail("/SHA256SUMS", ("status", 502), ("drop", 3))
    assert fetch_bytes(ctx, server.url("/SHA256SUMS"), label="sums", **FAST) == b"abc  file\n"


def test_retry_after_parsing() -> None:
    assert _retry_after(None) is None
    assert _retry_after("7") == 7.0
    assert _retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 < (_retry_after(later) or 0) <= 20
    assert _retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0


def test_backoff_is_exponential_jittered_and_capped() -> None:
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 10.0), (20, 10.0)):
        for _ in range(20):
            assert step / 2 <= _delay(attempt, None, 0.5, 10.0) <= step
    assert _delay(1, 3.0, 0.5, 10.0) == 3.0
    assert _delay(1, 60.0, 0.5, 10.0) == 10.0


def test_proxies_come_from_the_environment(
    ctx: Context, server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault server plays the proxy: a proxied request names the absolute URL.
    server.files["http://pbs.invalid/blob.bin"] = DATA
    monkeypatch.setenv("HTTP_PROXY", server.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    dest = tmp_path / "blob.bin"
    download(ctx, "http://pbs.invalid/blob.bin", dest, sha256=SHA, label="blob", **FAST)
    assert dest.read_bytes() == DATA
    assert [r["path"] for r in server.log] == ["http://pbs.invalid/blob.bin"]
