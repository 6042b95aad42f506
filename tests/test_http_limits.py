"""What a client may send a real server process (SPEC §9): request heads are capped, and a
request that stops arriving is dropped after ``settings.apiServer.requestTimeout``.

The clients here are raw sockets, because no HTTP client sends a 50 MB header or stops
half-way on purpose. Before these limits, uvicorn's httptools protocol read any head into
memory whole and waited for a stalled request for ever.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from _server import Server, workflow_copy

from kdeps_expr.cli import main
from kdeps_expr.server import ServerOptions

TIMEOUT = 1.0
"""The ``requestTimeout`` of the servers here, in seconds."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    settings = {"apiServer": {"requestTimeout": f"{TIMEOUT:g}s"}}
    with Server(workflow_copy(folder, "cart", settings=settings), folder / "cart.log") as server:
        yield server


def connect(server: Server) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def refusal(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers and JSON body of one HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_refused(raw: bytes, status: int, message: str) -> None:
    code, headers, body = refusal(raw)
    request_id = headers["x-request-id"]
    assert (code, headers["connection"], headers["content-type"]) == (
        status,
        "close",
        "application/json",
    )
    assert body == {
        "success": False,
        "error": {"code": status, "message": message},
        "meta": {"requestId": request_id, "timestamp": body["meta"]["timestamp"]},  # type: ignore[index]
    }


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_50_mb_header_is_refused_without_being_read(server: Server) -> None:
    assert server.process is not None
    before = peak_memory_kib(server.process.pid)
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        try:
            while sent < 50 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = read_all(sock)
    assert sent < 20 * 1024 * 1024, "the server kept reading the header"
    if raw:  # the 431 may be lost to the reset of a connection with unread bytes
        assert_refused(raw, 431, "the request line and headers are larger than 65536 bytes")
    assert peak_memory_kib(server.process.pid) - before < 16 * 1024
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_a_large_header_within_the_cap_is_served(server: Server) -> None:
    response = httpx.get(f"{server.url}/health", headers={"X-Big": "a" * 60_000})
    assert response.status_code == 200


def test_the_header_cap_is_a_setting(tmp_path: Path) -> None:
    settings = {"apiServer": {"maxHeaderBytes": 1024}}
    with Server(workflow_copy(tmp_path, "cart", settings=settings), tmp_path / "log") as small:
        assert httpx.get(f"{small.url}/health", headers={"X-A": "a" * 700}).status_code == 200
        with connect(small) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 2000 + b"\r\n\r\n")
            raw = read_all(sock)
        assert_refused(raw, 431, "the request line and headers are larger than 1024 bytes")
        assert "refused with 431: the request line and headers are larger" in small.log_text()


def test_a_request_whose_head_stops_arriving_gets_a_408(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        raw = read_all(sock)
        waited = time.monotonic() - started
    assert TIMEOUT * 0.9 <= waited < TIMEOUT + 3
    assert_refused(raw, 408, "the request did not arrive within 1s")


def test_a_request_whose_body_stops_arriving_is_dropped(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/v1/cart HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"item": '
        )
        started = time.monotonic()
        raw = read_all(sock)
        waited = time.monotonic() - started
    assert TIMEOUT * 0.9 <= waited < TIMEOUT + 3
    assert raw == b""
    assert "a request body did not arrive within 1s: disconnected" in server.log_text()


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - started < TIMEOUT + 3


def test_a_slow_but_steady_client_is_still_served_within_the_deadline(server: Server) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with connect(server) as sock:
        for start in range(0, len(request), 8):
            sock.sendall(request[start : start + 8])
            time.sleep(TIMEOUT / 20)
        raw = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")


def test_the_defaults() -> None:
    options = ServerOptions()
    assert (options.max_header_bytes, options.request_timeout) == (65536, 20.0)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("maxHeaderBytes", 0, "settings.apiServer.maxHeaderBytes must be at least 1, not 0"),
        (
            "requestTimeout",
            5,
            "settings.apiServer.requestTimeout: invalid duration 5: a duration needs a unit; "
            "use one or more <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'",
        ),
    ],
)
def test_check_refuses_a_bad_limit_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, value: int, message: str
) -> None:
    workflow = workflow_copy(tmp_path, "cart", settings={"apiServer": {setting: value}})
    assert main(["check", str(workflow)]) == 1
    line = f"    {setting}: {value}"
    number = (workflow / "workflow.yaml").read_text().splitlines().index(line) + 1
    column = len(setting) + 7
    assert capsys.readouterr().out.startswith(
        f"{workflow / 'workflow.yaml'}:{number}:{column}: {message}\n | {line}\n"
    )
