"""A real HTTP server on loopback for the httpClient tests: JSON, text, redirects, statuses,
slow and dripping replies, a counter of attempts, and a port that resets every connection.

``Upstream`` runs ``ThreadingHTTPServer`` in a thread; ``Resetter`` accepts connections and
closes them with a TCP reset before any byte of an answer.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read answers, not logs."""

    def do_GET(self) -> None:
        with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self._route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _send(
        self, status: int, body: bytes, kind: str = "application/json", **headers: Any
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name.replace("_", "-"), item)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = url.path
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        if path == "/echo":
            echoed = {
                "method": self.command,
                "path": path,
                "query": {k: v if len(v) > 1 else v[0] for k, v in query.items()},
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            self._send(200, json.dumps(echoed).encode())
        elif path == "/text":
            self._send(200, b"hello there", "text/plain; charset=utf-8")
        elif path == "/number":
            self._send(200, b"123", "text/plain")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, json.dumps({"error": f"status {code}"}).encode())
        elif path == "/redirect":
            self._send(302, b"", "text/plain", Location="/echo?from=redirect")
        elif path == "/loop":
            self._send(302, b"", "text/plain", Location="/loop")
        elif path == "/headers":
            self._send(
                200,
                b"{}",
                x_custom="one",
                set_cookie=["a=1; Path=/", "b=2; Path=/"],
                x_multi=["x", "y"],
            )
        elif path == "/slow":
            time.sleep(float(query.get("delay", ["2"])[0]))
            self._send(200, b'{"slow": true}')
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "20")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/flaky":
            failures = int(query.get("failures", ["2"])[0])
            key = query.get("key", [""])[0]
            seen = self.server.hits[f"/flaky/{key}"] = self.server.hits.get(f"/flaky/{key}", 0) + 1
            status = int(query.get("status", ["503"])[0])
            if seen <= failures:
                self._send(status, json.dumps({"attempt": seen}).encode())
            else:
                self._send(200, json.dumps({"attempt": seen}).encode())
        elif path == "/big":
            self._send(200, b"x" * int(query.get("size", ["2000000"])[0]), "text/plain")
        else:
            self._send(404, b'{"error": "no route"}')


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: dict[str, int]


class Upstream:
    """The test server: ``url(path)``; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.hits = {}
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def hits(self) -> dict[str, int]:
        return self.server.hits

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()


class Resetter:
    """A port whose every connection is reset (RST) once the request arrives."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    def __enter__(self) -> Resetter:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
