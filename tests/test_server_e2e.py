"""``kdeps-expr serve`` end to end: real server processes on loopback, driven over HTTP.

Each module-scoped server runs one example workflow (a copy, so the examples' folders stay
clean). Pairs of servers share one SQLite file, one Redis or one PostgreSQL table to show
that sessions cross processes; the concurrency tests spread their clients over such a pair.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import Server, environment, serve_command, workflow_copy
from session_backends import (
    POSTGRES_URL,
    REDIS_URL,
    delete_prefix,
    postgres_schema,
    require_redis,
)

from kdeps_expr.sessions import new_session_id

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
CLIENTS = 16
ITEMS_EACH = 25


def assert_ok(response: httpx.Response, data: Any, status: int = 200) -> None:
    body = response.json()
    assert response.status_code == status, response.text
    assert body == {
        "success": True,
        "data": data,
        "meta": {
            "requestId": response.headers["x-request-id"],
            "timestamp": body["meta"]["timestamp"],
        },
    }
    assert re.fullmatch(TIMESTAMP, body["meta"]["timestamp"])


def assert_error(
    response: httpx.Response, status: int, message: str, session_id: str | None = None
) -> None:
    """A SPEC §6 error body; the response carries ``session_id`` back, or no session at all."""
    body = response.json()
    assert response.status_code == status, response.text
    assert body == {
        "success": False,
        "error": {"code": status, "message": message},
        "meta": {
            "requestId": response.headers["x-request-id"],
            "timestamp": body["meta"]["timestamp"],
        },
    }
    if session_id is None:
        assert "set-cookie" not in response.headers
        assert "x-session-id" not in response.headers
    else:
        assert session_of(response) == session_id


def session_of(response: httpx.Response) -> str:
    """The session id a response returned, checked to be the same in cookie and header."""
    session_id = response.headers["x-session-id"]
    assert response.cookies["kdeps_session_id"] == session_id
    return session_id


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def login(folder: Path) -> Iterator[Server]:
    with Server(workflow_copy(folder, "login"), folder / "login.log") as server:
        yield server


@pytest.fixture(scope="module")
def cart(folder: Path) -> Iterator[Server]:
    settings = {"apiServer": {"maxBodyBytes": 4096}}
    workflow = workflow_copy(folder, "cart", settings=settings)
    with Server(workflow, folder / "cart.log", options=["--access-log"]) as server:
        yield server


@pytest.fixture(scope="module")
def preferences(folder: Path) -> Iterator[Server]:
    settings = {"apiServer": {"cookieSecure": True}}
    workflow = workflow_copy(folder, "preferences", settings=settings)
    with Server(workflow, folder / "preferences.log") as server:
        yield server


# --- the session page's flows ----------------------------------------------------------


def test_login_protected_logout(login: Server) -> None:
    with login.client() as client:
        assert_error(client.get("/api/v1/protected"), 401, "Authentication required")
        assert_error(
            client.post("/api/v1/login", json={"username": "admin"}),
            400,
            "Username and password required",
        )
        response = client.post("/api/v1/login", json={"username": "admin", "password": "pw"})
        assert_ok(response, {"message": "Login successful"})
        session_id = session_of(response)

        response = client.get("/api/v1/protected")
        assert_ok(response, "Hello admin, how can I help?")
        assert session_of(response) == session_id

        response = client.post("/api/v1/logout")
        assert_ok(response, {"message": "Logged out"})
        # Clearing `authenticated` and `user` (renewOn) moves the session to a fresh id.
        logged_out = session_of(response)
        assert logged_out != session_id
        # Refused, but the session is live: the client keeps it.
        assert_error(client.get("/api/v1/protected"), 401, "Authentication required", logged_out)


def test_wrong_credentials_do_not_authenticate(login: Server) -> None:
    with login.client() as client:
        response = client.post("/api/v1/login", data={"username": "eve", "password": "pw"})
        assert response.status_code == 200
        assert response.json()["success"] is False
        assert response.json()["data"] == {"message": "Invalid credentials"}
        refused = client.get("/api/v1/protected")
        assert_error(refused, 401, "Authentication required", session_of(response))


def test_cart_flow(cart: Server) -> None:
    with cart.client() as client:
        assert_ok(client.get("/api/v1/cart"), {"items": None, "total": 0})
        pen, ink = {"name": "pen", "price": 3}, {"name": "ink", "price": 4.5}
        assert_ok(client.post("/api/v1/cart", json={"item": pen}), {"cart": [pen], "count": 1})
        assert_ok(client.post("/api/v1/cart", json={"item": ink}), {"cart": [pen, ink], "count": 2})
        assert_ok(client.get("/api/v1/cart"), {"items": [pen, ink], "total": 7.5})
    with cart.client() as stranger:
        assert_ok(stranger.get("/api/v1/cart"), {"items": None, "total": 0})


def test_preferences_flow_over_the_header(preferences: Server) -> None:
    saved = httpx.post(
        f"{preferences.url}/api/v1/preferences", data={"language": "fr", "timezone": "Europe/Paris"}
    )
    assert_ok(saved, {"message": "Preferences saved"})
    session_id = saved.headers["x-session-id"]
    content = httpx.get(f"{preferences.url}/api/v1/content", headers={"X-Session-ID": session_id})
    assert content.headers["x-session-id"] == session_id
    assert re.fullmatch(
        rf"Respond in fr\.\nCurrent time in Europe/Paris: {TIMESTAMP}\n", content.json()["data"]
    )
    defaults = httpx.get(f"{preferences.url}/api/v1/content")
    assert re.fullmatch(rf"Respond in \.\nCurrent time in : {TIMESTAMP}\n", defaults.json()["data"])


# --- transport -------------------------------------------------------------------------


def test_cookie_attributes(login: Server, preferences: Server) -> None:
    response = httpx.post(f"{login.url}/api/v1/login", json={"username": "a", "password": "b"})
    session_id = response.headers["x-session-id"]
    assert response.headers["set-cookie"] == (
        f"kdeps_session_id={session_id}; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax"
    )
    assert response.headers["cache-control"] == "no-store"
    response = httpx.post(f"{preferences.url}/api/v1/preferences", data={"language": "de"})
    session_id = response.headers["x-session-id"]
    assert response.headers["set-cookie"] == (
        f"kdeps_session_id={session_id}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax; Secure"
    )


def test_a_request_that_does_not_use_the_session_sets_no_cookie(cart: Server) -> None:
    response = httpx.get(f"{cart.url}/api/v1/cart")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "x-session-id" not in response.headers


@pytest.mark.parametrize("carry", [{}, {"headers": {"X-Session-ID": new_session_id()}}])
def test_a_logout_without_a_session_creates_none(login: Server, carry: dict[str, Any]) -> None:
    """``clear('session')`` on no session leaves nothing to keep: a crawler fills no store."""
    response = httpx.post(f"{login.url}/api/v1/logout", **carry)
    assert_ok(response, {"message": "Logged out"})
    assert "set-cookie" not in response.headers
    assert "x-session-id" not in response.headers


@pytest.mark.parametrize("transport", ["cookie", "header"])
def test_session_fixation_is_refused(login: Server, transport: str) -> None:
    planted = new_session_id()
    carry = (
        {"cookies": {"kdeps_session_id": planted}}
        if transport == "cookie"
        else {"headers": {"X-Session-ID": planted}}
    )
    with login.client(**carry) as victim:
        response = victim.post("/api/v1/login", json={"username": "admin", "password": "pw"})
        assert_ok(response, {"message": "Login successful"})
        fresh = response.headers["x-session-id"]
        assert fresh != planted
        assert f"kdeps_session_id={fresh};" in response.headers["set-cookie"]
    with login.client(headers={"X-Session-ID": planted}) as attacker:
        assert_error(attacker.get("/api/v1/protected"), 401, "Authentication required")
    with login.client(headers={"X-Session-ID": fresh}) as owner:
        assert_ok(owner.get("/api/v1/protected"), "Hello admin, how can I help?")


@pytest.mark.parametrize("candidate", ["nope", "A" * 43 + "=", "../" * 15, "A" * 42 + "B"])
def test_malformed_ids_are_replaced(login: Server, candidate: str) -> None:
    response = httpx.post(
        f"{login.url}/api/v1/login",
        json={"username": "admin", "password": "pw"},
        headers={"X-Session-ID": candidate},
    )
    assert response.status_code == 200
    assert response.headers["x-session-id"] != candidate


def test_expired_session_is_replaced(folder: Path) -> None:
    workflow = workflow_copy(folder, "visits", session={"type": "sqlite", "ttl": "1s"})
    with Server(workflow, folder / "visits.log") as visits, visits.client() as client:
        first = client.get("/api/v1/visits")
        session_id = session_of(first)

        def greeting(visit: int) -> dict[str, Any]:  # the chat output: KDeps' response object
            text = f"User 123 prefers dark.\nThis is visit #{visit}.\n"
            return {"message": {"role": "assistant", "content": text}, "model": "echo"}

        assert_ok(first, {"visits": 1, "greeting": greeting(1), "session_id": session_id})
        second = client.get("/api/v1/visits")
        assert_ok(second, {"visits": 2, "greeting": greeting(2), "session_id": session_id})
        time.sleep(1.2)
        third = client.get("/api/v1/visits")
        renewed = session_of(third)
        assert renewed != session_id
        assert_ok(third, {"visits": 1, "greeting": greeting(1), "session_id": renewed})
        assert visits.stop() == 0
    assert "Application shutdown complete." in visits.log_text()


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "options", "status", "message"),
    [
        ("GET", "/api/v2/cart", {}, 404, "no route for /api/v2/cart"),
        (
            "DELETE",
            "/api/v1/cart",
            {},
            405,
            "method DELETE is not allowed for /api/v1/cart; allowed: POST, GET",
        ),
        (
            "POST",
            "/api/v1/cart",
            {"content": "{oops", "headers": {"content-type": "application/json"}},
            400,
            "malformed JSON body: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            "POST",
            "/api/v1/cart",
            {"json": {"item": "x" * 5000}},
            413,
            "request body is larger than 4096 bytes",
        ),
        (
            "POST",
            "/api/v1/cart",
            {"content": "item", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported content type 'text/plain': send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
        ),
        ("GET", "/actions/nothing", {}, 404, "no route for /actions/nothing"),
    ],
    ids=[
        "unknown-route",
        "wrong-method",
        "malformed-json",
        "too-large",
        "unsupported-type",
        "unknown-action",
    ],
)
def test_errors_are_json_and_leave_the_session_alone(
    cart: Server, method: str, path: str, options: dict[str, Any], status: int, message: str
) -> None:
    with cart.client() as client:
        item = {"name": "pen", "price": 3}
        client.post("/api/v1/cart", json={"item": item})
        response = client.request(method, path, **options)
        assert_error(response, status, message)
        assert_ok(client.get("/api/v1/cart"), {"items": [item], "total": 3})


def test_expression_failure_is_a_500_with_its_request_id_in_the_log(
    cart: Server, folder: Path
) -> None:
    with cart.client() as client:
        client.post("/api/v1/cart", json={"item": {"name": "gift", "price": "free"}})
        response = client.get("/api/v1/cart")
        request_id = response.headers["x-request-id"]
        message = f"expression failed in viewCart (request {request_id})"
        assert_error(response, 500, message, client.cookies["kdeps_session_id"])
        assert "Traceback" not in response.text
    # The log has the whole rendered error, caret included, under the same request id.
    resource = folder / "cart" / "resources" / "cart.yaml"
    logged = re.escape(f"ERROR kdeps_expr.runner: {message}\n{resource}:25:14: ")
    logged += r"[^\n]+\n \|       total: sum\(get\('cart', 'session'\)\.price\)\n \| \.{13}\^\n"
    log = cart.log_text()
    assert re.search(logged, log), log
    assert f"request {request_id}: GET /api/v1/cart -> 500" in log


def test_a_client_leaving_mid_body_is_a_logged_400(cart: Server) -> None:
    host, port = cart.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /actions/addToCart HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"item": '
        )
    line = re.compile(r"request [0-9a-f]{32}: POST /actions/addToCart -> 400 ")
    deadline = time.monotonic() + 10
    while not line.search(cart.log_text()):
        assert time.monotonic() < deadline, cart.log_text()
        time.sleep(0.05)
    assert "Traceback" not in cart.log_text()


def test_actions_endpoint_runs_any_action(cart: Server) -> None:
    with cart.client() as client:
        item = {"name": "cup", "price": 2}
        assert_ok(
            client.post("/actions/addToCart", json={"item": item}), {"cart": [item], "count": 1}
        )
        assert_ok(client.get("/actions/viewCart"), {"items": [item], "total": 2})


def test_health(cart: Server) -> None:
    response = httpx.get(f"{cart.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_taken_port_is_one_clear_error(cart: Server, folder: Path) -> None:
    port = cart.url.rsplit(":", 1)[1]
    command = serve_command(folder / "cart", "--port", port)
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, env=environment())
    assert done.returncode == 1
    assert done.stderr.endswith(f"cannot listen on 127.0.0.1:{port}: Address already in use\n")
    assert "Traceback" not in done.stderr


def test_an_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    """Like a SQLite file that cannot be opened: one message and exit 1 at start, not a
    server that answers 500 to every request with a session."""
    session = {"type": "redis", "url": "redis://127.0.0.1:1/0"}
    workflow = workflow_copy(tmp_path, "cart", session=session)
    command = serve_command(workflow, "--port", "0")
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, env=environment())
    assert done.returncode == 1
    assert done.stderr.endswith(
        "session store redis://127.0.0.1:1/0 is unreachable: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )
    assert "Traceback" not in done.stderr


def test_an_unreachable_postgres_is_one_clear_error(tmp_path: Path) -> None:
    session = {"type": "postgres", "url": "postgresql://kdeps:secret@127.0.0.1:1/shop"}
    workflow = workflow_copy(tmp_path, "cart", session=session)
    command = serve_command(workflow, "--port", "0")
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, env=environment())
    assert done.returncode == 1
    assert done.stderr == (
        "session store postgresql://kdeps:***@127.0.0.1:1/shop is unreachable: connection "
        'failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    )


# --- several processes, concurrency ----------------------------------------------------


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        "redis",
        "postgres",
        "sqlite-2-workers",
        "redis-2-workers",
        "postgres-2-workers",
    ],
)
def pair(request: pytest.FixtureRequest, folder: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes of the cart example sharing one session store; for
    ``-2-workers``, one ``serve --workers 2`` as both (its two workers share the store)."""
    base = folder / f"pair-{request.param}"
    base.mkdir()
    kind, _, workers = request.param.partition("-")
    with ExitStack() as cleanup:
        if kind == "redis":
            client = require_redis()
            prefix = f"kdeps-test-{uuid.uuid4().hex[:8]}:"
            cleanup.callback(client.close)
            cleanup.callback(delete_prefix, client, prefix)
            session = {"type": "redis", "url": REDIS_URL, "keyPrefix": prefix, "ttl": "24h"}
        elif kind == "postgres":
            _, schema = cleanup.enter_context(postgres_schema())
            session = {"type": "postgres", "url": POSTGRES_URL, "schema": schema, "ttl": "24h"}
        else:
            session = {"type": "sqlite", "path": "shared.db", "ttl": "24h"}
        workflow = workflow_copy(base, "cart", session=session)
        if workers:
            both = cleanup.enter_context(Server(workflow, base / "w.log", ["--workers", "2"]))
            yield both, both
            return
        first = cleanup.enter_context(Server(workflow, base / "a.log"))
        second = cleanup.enter_context(Server(workflow, base / "b.log"))
        yield first, second


def test_two_processes_share_sessions(pair: tuple[Server, Server]) -> None:
    first, second = pair
    pen, ink = {"name": "pen", "price": 3}, {"name": "ink", "price": 4}
    added = httpx.post(f"{first.url}/api/v1/cart", json={"item": pen})
    session = {"X-Session-ID": added.headers["x-session-id"]}
    assert_ok(httpx.get(f"{second.url}/api/v1/cart", headers=session), {"items": [pen], "total": 3})
    httpx.post(f"{second.url}/api/v1/cart", json={"item": ink}, headers=session)
    assert_ok(
        httpx.get(f"{first.url}/api/v1/cart", headers=session), {"items": [pen, ink], "total": 7}
    )


def add_items(url: str, session_id: str | None, client_number: int) -> tuple[list[int], str]:
    """POST ``ITEMS_EACH`` items; the statuses and the session id the last answer carried."""
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for number in range(ITEMS_EACH):
            headers = {"X-Session-ID": session_id} if session_id else {}
            item = {"client": client_number, "n": number, "price": 1}
            response = client.post("/api/v1/cart", json={"item": item}, headers=headers)
            statuses.append(response.status_code)
            session_id = response.headers.get("x-session-id", session_id)
    assert session_id is not None
    return statuses, session_id


def test_concurrent_clients_on_one_cart_lose_no_item(pair: tuple[Server, Server]) -> None:
    first, second = pair
    created = httpx.post(
        f"{first.url}/api/v1/cart", json={"item": {"client": -1, "n": 0, "price": 1}}
    )
    session_id = created.headers["x-session-id"]
    urls = [first.url, second.url]
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda n: add_items(urls[n % 2], session_id, n), range(CLIENTS)))
    refused = [status for statuses, _ in results for status in statuses if status != 200]
    assert refused == [], first.log_text() + second.log_text()
    assert {returned for _, returned in results} == {session_id}
    view = httpx.get(f"{second.url}/api/v1/cart", headers={"X-Session-ID": session_id}).json()
    items = view["data"]["items"][1:]
    assert len(items) == CLIENTS * ITEMS_EACH == 400
    assert sorted((i["client"], i["n"]) for i in items) == [
        (c, n) for c in range(CLIENTS) for n in range(ITEMS_EACH)
    ]
    for client_number in range(CLIENTS):
        own = [i["n"] for i in items if i["client"] == client_number]
        assert own == list(range(ITEMS_EACH)), "one client's items keep their order"
    assert view["data"]["total"] == 401


def test_concurrent_clients_on_their_own_carts(pair: tuple[Server, Server]) -> None:
    first, second = pair
    urls = [first.url, second.url]
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda n: add_items(urls[n % 2], None, n), range(CLIENTS)))
    assert len({session_id for _, session_id in results}) == CLIENTS
    for client_number, (statuses, session_id) in enumerate(results):
        assert statuses == [200] * ITEMS_EACH
        view = httpx.get(f"{first.url}/api/v1/cart", headers={"X-Session-ID": session_id})
        assert [i["n"] for i in view.json()["data"]["items"]] == list(range(ITEMS_EACH))
        assert {i["client"] for i in view.json()["data"]["items"]} == {client_number}
