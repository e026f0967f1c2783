"""A test certificate authority and a localhost certificate it signed, made with the openssl
command in a temporary directory, and an https server on 127.0.0.1 that serves a directory or
redirects every request to a URL a test chooses (to check that `self update` never leaves https)."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalCA:
    ca_cert: Path  # what a client trusts (SSL_CERT_FILE)
    cert: Path  # 127.0.0.1's certificate, signed by the CA
    key: Path


def make_ca(where: Path) -> LocalCA:
    where.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=pack test CA", "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
    )  # fmt: skip
    (where / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem",
    )  # fmt: skip
    return LocalCA(where / "ca.pem", where / "server.pem", where / "server.key")


def server_context(ca: LocalCA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca.cert, ca.key)
    return context


@dataclass
class Redirector:
    root: Path  # served as files when `target` is empty
    base: str = ""
    target: str = ""  # where every GET is sent (302), the path appended


@contextlib.contextmanager
def serve_https(ca: LocalCA, root: Path) -> Iterator[Redirector]:
    state = Redirector(root)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.target:
                self.send_response(302)
                self.send_header("Location", state.target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = state.root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = server_context(ca).wrap_socket(httpd.socket, server_side=True)
    state.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
