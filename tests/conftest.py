"""Session fixtures: one interpreter archive, one pack cache and one build of each example app
per test run, shared by every test that only reads them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.bundles import APPS, Built, run_pack
from tests.helpers.python_archive import make_python_archives
from tests.helpers.sshkeys import Keys, make_keys
from tests.helpers.tls import LocalCA, make_ca


@pytest.fixture(scope="session")
def pbs_archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with python-build-standalone format archives made from this interpreter
    (install_only_stripped and install_only) and their SHA256SUMS, built once per session."""
    out = tmp_path_factory.mktemp("pbs")
    make_python_archives(out)
    return out


@pytest.fixture(scope="session")
def python_archive(pbs_archive_dir: Path) -> Path:
    """The default flavour, what users get: install_only_stripped."""
    return next(pbs_archive_dir.glob("cpython-*-install_only_stripped.tar.gz"))


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack cache shared by the session's builds (warm after the first)."""
    return tmp_path_factory.mktemp("pack-cache")


def _build(app: str, tmp: Path, python_archive: Path, cache: Path, *extra: str) -> Built:
    project = tmp / app
    shutil.copytree(
        APPS / app,
        project,
        ignore=shutil.ignore_patterns("dist", "__pycache__", "*.egg-info", "build"),
    )
    proc = run_pack(
        ["build", str(project), "--python-archive", str(python_archive), "--json", *extra], cache
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    artifact = result["artifacts"][0]
    return Built(
        archive=Path(artifact["path"]),
        name=result["name"],
        version=result["version"],
        target=artifact["target"],
        result=result,
        project=project,
        cache_dir=cache,
    )


@pytest.fixture(scope="session")
def built_bundle(
    tmp_path_factory: pytest.TempPathFactory, python_archive: Path, session_cache: Path
) -> Built:
    """The compiled-app example (uv.lock, a manylinux dependency, two launchers) as .tar.zst."""
    return _build(
        "compiled", tmp_path_factory.mktemp("build-compiled"), python_archive, session_cache
    )


@pytest.fixture(scope="session")
def thirdparty_bundle(
    tmp_path_factory: pytest.TempPathFactory, python_archive: Path, session_cache: Path
) -> Built:
    """The flakes-bundle example (pylock.toml, no build system, a third-party console script)."""
    return _build(
        "thirdparty", tmp_path_factory.mktemp("build-thirdparty"), python_archive, session_cache
    )


@pytest.fixture(scope="session")
def aarch64_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An aarch64-unknown-linux-gnu CPython 3.11 archive in python-build-standalone's shape,
    assembled once per session from Debian's arm64 packages (.ci/run enables arm64)."""
    from tests.helpers.aarch64_archive import make_aarch64_archive

    return make_aarch64_archive(tmp_path_factory.mktemp("pbs-aarch64"))


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """SSH keys made with ssh-keygen once per session: alice, bob, carol (encrypted)."""
    return make_keys(tmp_path_factory.mktemp("ssh-keys"))


# Interpreter fetcher fixtures (issue 3): a release mirror laid out as <base>/<tag>/<file>,
# and a real HTTP server on 127.0.0.1 that can inject faults per path.

import hashlib as _hashlib  # noqa: E402
import threading as _threading  # noqa: E402
import time as _time  # noqa: E402
from collections.abc import Iterator as _Iterator  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from http.server import BaseHTTPRequestHandler as _Handler  # noqa: E402
from http.server import ThreadingHTTPServer as _ThreadingHTTPServer  # noqa: E402
from urllib.parse import unquote as _unquote  # noqa: E402

PBS_TAG = "20990101"


@_dataclass(frozen=True)
class PbsRelease:
    """The session's fake python-build-standalone release: `base/<tag>/` holds the
    install_only and install_only_stripped archives and SHA256SUMS."""

    base: Path
    tag: str
    version: str
    install_only: Path
    stripped: Path

    @property
    def dir(self) -> Path:
        return self.base / self.tag

    def sha256(self, path: Path) -> str:
        return _hashlib.sha256(path.read_bytes()).hexdigest()

    def copy_to(self, base: Path) -> PbsRelease:
        """A private mirror (hard links) that a test may change."""
        (base / self.tag).mkdir(parents=True)
        for f in self.dir.iterdir():
            (base / self.tag / f.name).hardlink_to(f)
        return PbsRelease(
            base,
            self.tag,
            self.version,
            base / self.tag / self.install_only.name,
            base / self.tag / self.stripped.name,
        )


@pytest.fixture(scope="session")
def pbs_release(tmp_path_factory: pytest.TempPathFactory, pbs_archive_dir: Path) -> PbsRelease:
    base = tmp_path_factory.mktemp("pbs-mirror")
    release = base / PBS_TAG
    release.mkdir()
    pairs = []
    for flavor in ("install_only", "install_only_stripped"):
        source = next(pbs_archive_dir.glob(f"cpython-*-{flavor}.tar.gz"))
        (release / source.name).hardlink_to(source)
        pairs.append(release / source.name)
    install_only, stripped = pairs
    sums = "".join(
        f"{_hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted((install_only, stripped))
    )
    (release / "SHA256SUMS").write_text(sums)
    version = install_only.name.split("-")[1].split("+")[0]
    return PbsRelease(base, PBS_TAG, version, install_only, stripped)


class FaultServer:
    """Serves `files` (by URL path) or files under `root`, with Range, ETag and
    Accept-Ranges like a CDN. `fail(path, *faults)` queues faults for the next requests of a
    path: ("status", code, headers), ("drop", n) sends n body bytes then closes,
    ("ignore_range",), ("corrupt",), ("stall", seconds), ("hold", n) sends n bytes then
    waits for `release` (setting `held`). Every request is logged in `log`."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.root: Path | None = None
        self.honour_ranges = True
        self.send_etags = True
        self.faults: dict[str, list[tuple[object, ...]]] = {}
        self.log: list[dict[str, object]] = []
        self.held = _threading.Event()
        self.release = _threading.Event()
        self._lock = _threading.Lock()
        server = self

        class Handler(_Handler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self)

        self.httpd = _ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = _threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    @property
    def base(self) -> str:
        return self.url("")

    def fail(self, path: str, *faults: tuple[object, ...]) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def requests(self, path: str) -> list[dict[str, object]]:
        return [r for r in self.log if r["path"] == path]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _body(self, path: str) -> bytes | None:
        if path in self.files:
            return self.files[path]
        if self.root is not None:
            file = self.root / _unquote(path).lstrip("/")
            if file.is_file():
                return file.read_bytes()
        return None

    def _serve(self, h: _Handler) -> None:
        path = h.path
        with self._lock:
            queued = self.faults.get(path)
            fault = queued.pop(0) if queued else None
        entry: dict[str, object] = {
            "path": path,
            "range": h.headers.get("Range"),
            "if_range": h.headers.get("If-Range"),
        }
        self.log.append(entry)
        kind = fault[0] if fault else None
        if kind == "stall":
            _time.sleep(float(fault[1]))
        if kind == "status":
            code, headers = fault[1], fault[2] if len(fault) > 2 else {}
            self._reply(h, entry, int(code), b"failing on purpose\n", dict(headers))
            return
        body = self._body(path)
        if body is None:
            self._reply(h, entry, 404, b"not found\n", {})
            return
        if kind == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        etag = '"' + _hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag} if self.send_etags else {}
        if self.honour_ranges:
            headers["Accept-Ranges"] = "bytes"
        status, start = 200, 0
        wanted = h.headers.get("Range")
        if_range = h.headers.get("If-Range")
        if (
            wanted
            and self.honour_ranges
            and kind != "ignore_range"
            and (if_range is None or if_range == etag)
        ):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                headers["Content-Range"] = f"bytes */{len(body)}"
                self._reply(h, entry, 416, b"", headers)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        payload = body[start:]
        entry["status"] = status
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        try:
            if kind in ("drop", "hold"):
                n = int(fault[1])
                h.wfile.write(payload[:n])
                h.wfile.flush()
                if kind == "drop":
                    h.close_connection = True
                    return
                self.held.set()
                self.release.wait(60)
                payload = payload[n:]
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _reply(
        self, h: _Handler, entry: dict[str, object], code: int, body: bytes, headers: dict[str, str]
    ) -> None:
        entry["status"] = code
        h.send_response(code)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@pytest.fixture
def fault_server() -> _Iterator[FaultServer]:
    server = FaultServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    """A certificate authority and a 127.0.0.1 certificate made for this session (https tests)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test CA (.ci/run installs it)")
    return make_ca(tmp_path_factory.mktemp("ca"))
