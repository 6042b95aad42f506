"""The HTTP adapter in process: routing, bodies, errors and session transport, on a fake runner.

The end-to-end tests against real server processes and the real runner live in
``test_server_e2e.py``; these pin the transport rules exactly, one rule per test.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

from kdeps_expr.cli import main
from kdeps_expr.errors import WorkflowError
from kdeps_expr.language.context import Request
from kdeps_expr.server import ServerOptions, bind, create_app, valid_session_id
from kdeps_expr.sessions import SessionState, Snapshot, new_session_id
from kdeps_expr.workflow.runner import Response

with warnings.catch_warnings():
    # Starlette 1.x nudges towards httpx2; the httpx it still supports is what we install.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows"
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass(frozen=True)
class FakeRoute:
    path: str
    methods: tuple[str, ...]
    action_id: str


@dataclass
class FakeRunner:
    """Answers like the runner: a session id only when the action used the session."""

    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[Request, str | None, str | None]] = field(default_factory=list)
    barrier: threading.Barrier | None = None
    running: dict[str | None, int] = field(default_factory=dict)
    most_at_once: dict[str | None, int] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def handle(
        self, request: Request, action_id: str | None = None, session_id: str | None = None
    ) -> Response:
        self.calls.append((request, action_id, session_id))
        meta = {"requestId": request.request_id, "timestamp": request.timestamp}
        if action_id == "crash":
            raise RuntimeError("runner bug")
        if action_id == "unsendable":
            return Response(200, {"success": True, "data": float("nan"), "meta": meta})
        if action_id == "wait":
            assert self.barrier is not None
            self.barrier.wait()
        if action_id == "slow":
            self._slowly(session_id)
        if action_id == "count":
            state = SessionState(session_id=session_id, load=lambda: self._load(session_id))
            state.set("visits", (state.get("visits") or 0) + 1)
            self.sessions[state.id] = state.data
            return Response(200, {"success": True, "data": state.data, "meta": meta}, {}, state.id)
        data = {"query": dict(request.query), "body": request.body, "ip": request.ip}
        return Response(200, {"success": True, "data": data, "meta": meta}, {"X-Extra": "1"})

    def _slowly(self, session_id: str | None) -> None:
        """Take 50 ms, noting how many requests ran at once: on ``session_id``, and in all."""
        keys = (session_id, "*")
        with self.guard:
            for key in keys:
                self.running[key] = self.running.get(key, 0) + 1
                self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.running[key])
        time.sleep(0.05)
        with self.guard:
            for key in keys:
                self.running[key] -= 1

    def _load(self, session_id: str | None) -> Snapshot | None:
        data = self.sessions.get(session_id or "")
        return None if data is None else Snapshot(dict(data), 1, 0.0)


ROUTES = [
    FakeRoute("/api/echo", ("GET", "POST"), "echo"),
    FakeRoute("/api/count", ("POST",), "count"),
    FakeRoute("/api/count", ("GET",), "echo"),
    FakeRoute("/api/crash", ("GET",), "crash"),
    FakeRoute("/api/unsendable", ("GET",), "unsendable"),
    FakeRoute("/api/wait", ("POST",), "wait"),
    FakeRoute("/api/slow", ("POST",), "slow"),
]


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


def make_app(runner: FakeRunner, **options: Any) -> Starlette:
    return create_app(
        lambda: nullcontext(runner), ROUTES, {"echo", "count", "crash"}, ServerOptions(**options)
    )


def make_client(runner: FakeRunner, **options: Any) -> TestClient:
    return TestClient(make_app(runner, **options), raise_server_exceptions=False)


@pytest.fixture
def client(runner: FakeRunner) -> Iterator[TestClient]:
    with make_client(runner, max_body_bytes=64, session_ttl=1800.0) as test_client:
        yield test_client


def assert_error(response: Any, status: int, message: str) -> None:
    body = response.json()
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert body == {
        "success": False,
        "error": {"code": status, "message": message},
        "meta": {
            "requestId": response.headers["x-request-id"],
            "timestamp": body["meta"]["timestamp"],
        },
    }
    assert REQUEST_ID.fullmatch(body["meta"]["requestId"])
    assert TIMESTAMP.fullmatch(body["meta"]["timestamp"])
    assert "set-cookie" not in response.headers
    assert "x-session-id" not in response.headers


# --- routing -----------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert REQUEST_ID.fullmatch(response.headers["x-request-id"])


def test_route_runs_its_action_with_the_request(client: TestClient, runner: FakeRunner) -> None:
    response = client.get("/api/echo?a=1&a=2&b=x&empty=")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "query": {"a": ["1", "2"], "b": "x", "empty": ""},
        "body": None,
        "ip": "testclient",
    }
    assert response.headers["x-extra"] == "1"
    request, action_id, session_id = runner.calls[0]
    assert (request.method, request.path, action_id, session_id) == (
        "GET",
        "/api/echo",
        "echo",
        None,
    )
    assert request.request_id == response.headers["x-request-id"]
    assert request.headers["host"] == "testserver"


def test_methods_of_one_path_can_run_different_actions(
    client: TestClient, runner: FakeRunner
) -> None:
    client.get("/api/count")
    client.post("/api/count")
    assert [action for _, action, _ in runner.calls] == ["echo", "count"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_actions_endpoint(client: TestClient, runner: FakeRunner, method: str) -> None:
    response = client.request(method, "/actions/echo")
    assert response.status_code == 200
    assert runner.calls[0][1] == "echo"
    assert runner.calls[0][0].path == "/actions/echo"


@pytest.mark.parametrize(
    ("method", "path", "status", "message", "allow"),
    [
        ("GET", "/nowhere", 404, "no route for /nowhere", None),
        ("GET", "/api/echo/", 404, "no route for /api/echo/", None),
        ("GET", "/actions/missing", 404, "no route for /actions/missing", None),
        ("GET", "/actions/", 404, "no route for /actions/", None),
        (
            "DELETE",
            "/api/echo",
            405,
            "method DELETE is not allowed for /api/echo; allowed: GET, POST",
            "GET, POST",
        ),
        (
            "PUT",
            "/actions/echo",
            405,
            "method PUT is not allowed for /actions/echo; allowed: GET, POST",
            "GET, POST",
        ),
        (
            "POST",
            "/health",
            405,
            "method POST is not allowed for /health; allowed: GET, HEAD",
            "GET, HEAD",
        ),
    ],
    ids=[
        "unknown",
        "trailing-slash",
        "unknown-action",
        "empty-action",
        "route-method",
        "action-method",
        "health-method",
    ],
)
def test_routing_errors(
    client: TestClient,
    runner: FakeRunner,
    method: str,
    path: str,
    status: int,
    message: str,
    allow: str | None,
) -> None:
    response = client.request(method, path)
    assert_error(response, status, message)
    assert response.headers.get("allow") == allow
    assert runner.calls == []


# --- bodies ------------------------------------------------------------------------------


def body_of(client: TestClient, runner: FakeRunner, **kwargs: Any) -> Any:
    response = client.post("/api/echo", **kwargs)
    assert response.status_code == 200, response.text
    return runner.calls[-1][0].body


def test_json_body_keeps_types_and_order(client: TestClient, runner: FakeRunner) -> None:
    body = body_of(
        client,
        runner,
        content='{"z": 1, "a": [1.5, true, null]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert body == {"z": 1, "a": [1.5, True, None]}
    assert list(body) == ["z", "a"]


def test_vendor_json_type_and_non_map_body(client: TestClient, runner: FakeRunner) -> None:
    body = body_of(
        client, runner, content="[1, 2]", headers={"content-type": "application/vnd.api+json"}
    )
    assert body == [1, 2]


def test_urlencoded_form(client: TestClient, runner: FakeRunner) -> None:
    body = body_of(client, runner, data={"user": "ann", "tag": ["a", "b"]})
    assert body == {"user": "ann", "tag": ["a", "b"]}


def test_multipart_form_with_file(runner: FakeRunner) -> None:
    with make_client(runner) as client:
        body = body_of(
            client, runner, data={"user": "ann"}, files={"doc": ("a.txt", b"hello", "text/plain")}
        )
    assert body == {
        "user": "ann",
        "doc": {"filename": "a.txt", "contentType": "text/plain", "size": 5},
    }


def test_empty_body_is_none_whatever_its_type(client: TestClient, runner: FakeRunner) -> None:
    assert body_of(client, runner, content=b"", headers={"content-type": "text/plain"}) is None


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (
            "{bad",
            "application/json",
            400,
            "malformed JSON body: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ("[NaN]", "application/json", 400, "malformed JSON body: NaN is not a JSON number"),
        (b'"\xff"', "application/json", 400, "malformed JSON body: not valid UTF-8 at byte 1"),
        (
            '{"sku": "\\ud800"}',
            "application/json",
            400,
            "malformed JSON body: a \\u escape is half of a surrogate pair, not a character",
        ),
        (
            b'{"x":"\xed\xa0\x80"}',
            "application/json",
            400,
            "malformed JSON body: not valid UTF-8 at byte 6",
        ),
        (
            '{"x":"\\ud800"}'.encode("utf-16"),
            "application/json",
            400,
            "malformed JSON body: a \\u escape is half of a surrogate pair, not a character",
        ),
        (
            '{"x":"\ud800"}'.encode("utf-16-le", "surrogatepass"),
            "application/json",
            400,
            "malformed JSON body: not valid UTF-16 at byte 12",
        ),
        (
            '{"x": 1e400}',
            "application/json",
            400,
            "malformed JSON body: number out of range: 1e400 is beyond a float",
        ),
        (
            "[-1e999]",
            "application/json",
            400,
            "malformed JSON body: number out of range: -1e999 is beyond a float",
        ),
        (
            "[9223372036854775808]",
            "application/json",
            400,
            "malformed JSON body: integer out of range: 9223372036854775808 does not fit in 64 "
            "bits",
        ),
        (
            "-" + "9" * 50,
            "application/json",
            400,
            "malformed JSON body: integer out of range: -9999999999999999999…999999 (51 "
            "characters) does not fit in 64 bits",
        ),
        (b"a=\xff", "application/x-www-form-urlencoded", 400, "malformed form body: not UTF-8"),
        (
            "--x",
            "multipart/form-data",
            400,
            "malformed form body: Missing boundary in multipart.",
        ),
        (
            "hi",
            "text/plain",
            415,
            "unsupported content type 'text/plain': send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
        ),
        (
            "hi",
            None,
            415,
            "unsupported content type missing: send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
        ),
        ("x" * 65, "application/json", 413, "request body is larger than 64 bytes"),
    ],
    ids=[
        "json-syntax",
        "json-nan",
        "json-utf8",
        "json-lone-surrogate",
        "json-raw-surrogate",
        "json-utf16-escaped-surrogate",
        "json-utf16-raw-surrogate",
        "json-float-overflow",
        "json-negative-float-overflow",
        "json-int-beyond-64-bits",
        "json-int-of-50-digits",
        "form-utf8",
        "multipart",
        "text",
        "no-type",
        "too-large",
    ],
)
def test_body_errors(
    client: TestClient,
    runner: FakeRunner,
    content: str | bytes,
    content_type: str | None,
    status: int,
    message: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/echo", content=content, headers=headers)
    assert_error(response, status, message)
    assert runner.calls == []


def test_deeply_nested_json_is_a_400(runner: FakeRunner) -> None:
    with make_client(runner) as client:
        response = client.post(
            "/api/echo", content="[" * 100_000, headers={"content-type": "application/json"}
        )
    assert_error(response, 400, "malformed JSON body: nested too deeply")


def test_streamed_body_over_the_limit_is_a_413(client: TestClient, runner: FakeRunner) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "' + b"x" * 40
        yield b"x" * 40 + b'"}'

    response = client.post(
        "/api/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "request body is larger than 64 bytes")
    assert runner.calls == []


# --- sessions ----------------------------------------------------------------------------

COOKIE = "kdeps_session_id={id}; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax"


def test_a_session_sets_cookie_and_header(client: TestClient, runner: FakeRunner) -> None:
    response = client.post("/api/count")
    session_id = response.headers["x-session-id"]
    assert valid_session_id(session_id) == session_id
    assert response.headers["set-cookie"] == COOKIE.format(id=session_id)
    assert response.headers["cache-control"] == "no-store"
    assert runner.calls[0][2] is None


def test_no_session_means_no_cookie(client: TestClient) -> None:
    response = client.get("/api/echo")
    assert "set-cookie" not in response.headers
    assert "x-session-id" not in response.headers
    assert "cache-control" not in response.headers


def test_secure_cookie_and_ttl(runner: FakeRunner) -> None:
    with make_client(runner, secure_cookie=True, session_ttl=90.5) as client:
        response = client.post("/api/count")
    session_id = response.headers["x-session-id"]
    assert response.headers["set-cookie"] == (
        f"kdeps_session_id={session_id}; Max-Age=91; Path=/; HttpOnly; SameSite=Lax; Secure"
    )


def test_cookie_carries_the_session(client: TestClient, runner: FakeRunner) -> None:
    first = client.post("/api/count").headers["x-session-id"]
    second = client.post("/api/count")
    assert runner.calls[1][2] == first
    assert second.headers["x-session-id"] == first
    assert second.json()["data"] == {"visits": 2}


def test_header_carries_the_session(client: TestClient, runner: FakeRunner) -> None:
    first = client.post("/api/count").headers["x-session-id"]
    client.cookies.clear()
    second = client.post("/api/count", headers={"X-Session-ID": first})
    assert runner.calls[1][2] == first
    assert second.json()["data"] == {"visits": 2}


def test_cookie_wins_over_header(client: TestClient, runner: FakeRunner) -> None:
    cookie_id, header_id = new_session_id(), new_session_id()
    client.cookies.set("kdeps_session_id", cookie_id)
    client.post("/api/count", headers={"X-Session-ID": header_id})
    assert runner.calls[0][2] == cookie_id


def test_malformed_cookie_falls_back_to_a_wellformed_header(
    client: TestClient, runner: FakeRunner
) -> None:
    header_id = new_session_id()
    client.cookies.set("kdeps_session_id", "not-an-id")
    client.post("/api/count", headers={"X-Session-ID": header_id})
    assert runner.calls[0][2] == header_id


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "B",
        "A" * 41 + "+A",
        "A" * 41 + "/A",
        "A" * 42 + "=",
        " " + "A" * 43,
    ],
    ids=["empty", "short", "42", "44", "last-char-bits", "plus", "slash", "padding", "space"],
)
def test_malformed_ids_are_never_handed_to_the_runner(
    client: TestClient, runner: FakeRunner, candidate: str
) -> None:
    assert valid_session_id(candidate) is None
    response = client.post("/api/count", headers={"X-Session-ID": candidate})
    assert runner.calls[0][2] is None
    assert response.headers["x-session-id"] != candidate


def test_fresh_ids_are_wellformed() -> None:
    for _ in range(200):
        session_id = new_session_id()
        assert valid_session_id(session_id) == session_id


def test_unknown_id_is_replaced(client: TestClient, runner: FakeRunner) -> None:
    planted = new_session_id()
    response = client.post("/api/count", headers={"X-Session-ID": planted})
    assert runner.calls[0][2] == planted
    assert response.headers["x-session-id"] != planted
    assert planted not in runner.sessions


# --- server-side failures ----------------------------------------------------------------


def test_unexpected_error_is_a_json_500_logged_with_its_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kdeps_expr.server"):
        response = client.get("/api/crash")
    request_id = response.headers["x-request-id"]
    assert_error(response, 500, f"internal server error (request {request_id})")
    assert "Traceback" not in response.text
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.getMessage() == f"request {request_id}: internal error"
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "runner bug"


def test_a_body_json_cannot_carry_is_a_json_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kdeps_expr.server"):
        response = client.get("/api/unsendable")
    request_id = response.headers["x-request-id"]
    assert_error(response, 500, f"internal server error (request {request_id})")
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.getMessage() == f"request {request_id}: internal error"
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "Out of range float values are not JSON compliant"


def test_the_access_log_logs_one_line_per_request(
    runner: FakeRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        make_client(runner, access_log=True) as client,
        caplog.at_level(logging.INFO, logger="kdeps_expr.server"),
    ):
        ok = client.get("/api/echo?q=1")
        missing = client.get("/nowhere")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert re.fullmatch(
        rf"request {ok.headers['x-request-id']}: GET /api/echo -> 200 \(\d+\.\d ms\)", lines[0]
    )
    assert re.fullmatch(
        rf"request {missing.headers['x-request-id']}: GET /nowhere -> 404 \(\d+\.\d ms\)", lines[1]
    )


def test_without_the_access_log_only_failures_are_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kdeps_expr.server"):
        assert client.get("/api/echo").status_code == 200
        assert client.get("/nowhere").status_code == 404
        crash = client.get("/api/crash")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"request {crash.headers['x-request-id']}: internal error"]


# --- options -----------------------------------------------------------------------------


def test_options_from_settings() -> None:
    api = {
        "hostIp": "0.0.0.0",
        "portNum": 8080,
        "maxBodyBytes": 10,
        "cookieSecure": True,
        "workerThreads": 4,
        "debug": True,
        "accessLog": True,
    }
    assert ServerOptions.from_settings({"apiServer": api}, 60.0) == ServerOptions(
        host="0.0.0.0",
        port=8080,
        max_body_bytes=10,
        secure_cookie=True,
        session_ttl=60.0,
        worker_threads=4,
        debug=True,
        access_log=True,
    )
    assert ServerOptions.from_settings({}, 60.0) == ServerOptions(
        host="127.0.0.1", port=3000, max_body_bytes=1024 * 1024, session_ttl=60.0
    )


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ([], "settings.apiServer must be a mapping"),
        (
            {"maxBodyBytes": "1MB"},
            "settings.apiServer.maxBodyBytes must be a positive integer, got '1MB'",
        ),
        ({"maxBodyBytes": 0}, "settings.apiServer.maxBodyBytes must be a positive integer, got 0"),
        (
            {"workerThreads": True},
            "settings.apiServer.workerThreads must be a positive integer, got True",
        ),
        (
            {"cookieSecure": "yes"},
            "settings.apiServer.cookieSecure must be true or false, got 'yes'",
        ),
        (
            {"accessLog": "on"},
            "settings.apiServer.accessLog must be true or false, got 'on'",
        ),
        ({"hostIp": ""}, "settings.apiServer.hostIp must be an address, got ''"),
        ({"portNum": 70000}, "settings.apiServer.portNum must be 0 to 65535, got 70000"),
        ({"portNum": "80"}, "settings.apiServer.portNum must be 0 to 65535, got '80'"),
    ],
    ids=[
        "not-a-map",
        "body-string",
        "body-zero",
        "threads-bool",
        "secure-string",
        "access-log-string",
        "host-empty",
        "port-range",
        "port-string",
    ],
)
def test_bad_options(api: Any, message: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        ServerOptions.from_settings({"apiServer": api}, 60.0)
    assert str(caught.value) == message


# --- threads -----------------------------------------------------------------------------


@contextmanager
def live_server(app: Starlette) -> Iterator[str]:
    """``app`` on uvicorn in a thread of this process, on a free port; its base URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_requests_run_in_parallel_off_the_event_loop(runner: FakeRunner) -> None:
    runner.barrier = threading.Barrier(3, timeout=10)
    with live_server(make_app(runner)) as url, ThreadPoolExecutor(2) as pool:
        posts = [pool.submit(httpx.post, f"{url}/api/wait", timeout=10) for _ in range(2)]
        deadline = time.monotonic() + 10
        while len(runner.calls) < 2:
            assert time.monotonic() < deadline, "the two requests never ran together"
            time.sleep(0.01)
        # Both requests are blocked inside the runner; the event loop still answers.
        assert httpx.get(f"{url}/health", timeout=5).json() == {"status": "ok"}
        runner.barrier.wait()
        assert [post.result().status_code for post in posts] == [200, 200]


def test_worker_threads_bound_the_parallelism(runner: FakeRunner) -> None:
    runner.barrier = threading.Barrier(2, timeout=0.5)
    with live_server(make_app(runner, worker_threads=1)) as url, ThreadPoolExecutor(2) as pool:
        posts = [pool.submit(httpx.post, f"{url}/api/wait", timeout=10) for _ in range(2)]
        statuses = sorted(post.result().status_code for post in posts)
    # One thread: the second request waits for the first, whose barrier times out.
    assert statuses == [500, 500]


# --- the serve command -------------------------------------------------------------------


@pytest.mark.parametrize("port", ["65536", "-1", "http"])
def test_serve_rejects_a_bad_port(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "examples/workflows/cart", "--port", port])
    assert stopped.value.code == 2
    message = f"argument --port: must be a number from 0 to 65535, not '{port}'"
    assert capsys.readouterr().err.endswith(f"kdeps-expr serve: error: {message}\n")


def test_serve_reports_a_bad_setting_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = tmp_path / "cart"
    shutil.copytree(EXAMPLES / "cart", workflow)
    manifest = workflow / "workflow.yaml"
    manifest.write_text(manifest.read_text().replace("portNum: 16395", "portNum: 99999"))
    assert main(["serve", str(workflow)]) == 1
    error = capsys.readouterr().err.replace(str(workflow), "cart")
    # SPEC §8: the load refuses it first, at its place in the file (as check does)
    assert error == (
        "cart/workflow.yaml:15:14: settings.apiServer.portNum must be at most 65535, not 99999\n"
        " |     portNum: 99999\n"
        " | .............^\n"
    )


def test_requests_on_one_session_take_turns(runner: FakeRunner) -> None:
    shared, others = new_session_id(), [new_session_id() for _ in range(4)]
    ids = [shared] * 4 + others
    with live_server(make_app(runner)) as url, ThreadPoolExecutor(len(ids)) as pool:
        posts = [
            pool.submit(httpx.post, f"{url}/api/slow", headers={"X-Session-ID": i}, timeout=10)
            for i in ids
        ]
        assert [post.result().status_code for post in posts] == [200] * len(ids)
    assert runner.most_at_once[shared] == 1
    assert all(runner.most_at_once[i] == 1 for i in others)
    assert runner.most_at_once["*"] >= 2, "requests on different sessions ran in parallel"
