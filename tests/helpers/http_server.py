"""A real HTTP server on 127.0.0.1 serving a directory, for tests of downloads by the bundle
stub: paths in `truncate` are sent half (with the full Content-Length) and the connection
closed; paths in `stall` are sent half and held until `release` is set; `hits` counts
requests per path."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Server:
    root: Path
    base: str = ""
    truncate: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    hits: dict[str, int] = field(default_factory=dict)
    cafile: str = ""  # over https: the CA file a client must trust (SSL_CERT_FILE)

    def url(self, path: Path) -> str:
        return self.base + "/" + urllib.parse.quote(path.relative_to(self.root).as_posix())


@contextlib.contextmanager
def serve(root: Path, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """Serve `root` over http, or https when given a server-side `tls` context."""
    state = Server(root)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            state.hits[rel] = state.hits.get(rel, 0) + 1
            path = state.root / rel
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if rel in state.truncate or rel in state.stall:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                if rel in state.stall:
                    state.release.wait(timeout=120)
                self.close_connection = True
                return
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    scheme = "http" if tls is None else "https"
    state.base = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
