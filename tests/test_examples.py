"""The session page's examples, end to end: several requests sharing one session, per store.

Each example under ``examples/workflows/`` runs through the Runner on every store backend
(Redis only when a test server is reachable), step by step, with the exact response of
each step; then through ``kdeps-expr run``, whose SQLite store carries the session from
one command to the next.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from session_backends import BACKENDS, open_backend

from kdeps_expr.cli import main
from kdeps_expr.language.context import Request
from kdeps_expr.sessions import SessionStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.runner import Runner

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows"
TIMESTAMP = "2026-01-02T03:04:05Z"
SESSION_ID = "<the session id>"


@dataclass(frozen=True)
class Step:
    """One request of a scenario and everything it must answer."""

    action: str
    method: str
    path: str
    status: int
    body: dict[str, Any]
    request_body: Any = None
    session: dict[str, Any] | None = None
    """The whole session after the step, when the step is about it."""
    query: dict[str, str] = field(default_factory=dict)


def ok(data: Any, success: bool = True) -> dict[str, Any]:
    return {"success": success, "data": data}


def failed(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


def login(user: str, password: str | None, status: int, body: dict[str, Any]) -> Step:
    credentials = {"username": user} | ({"password": password} if password else {})
    return Step("login", "POST", "/api/v1/login", status, body, credentials)


PROTECTED = Step(
    "protectedResource", "GET", "/api/v1/protected", 401, failed(401, "Authentication required")
)
WELCOME = Step(
    "protectedResource", "GET", "/api/v1/protected", 200, ok("Hello admin, how can I help?")
)


def add(name: str, price: float, count: int, cart: list[dict[str, Any]]) -> Step:
    item = {"name": name, "price": price}
    return Step(
        "addToCart", "POST", "/api/v1/cart", 200, ok({"cart": cart, "count": count}), {"item": item}
    )


APPLE = {"name": "apple", "price": 1.25}
PEAR = {"name": "pear", "price": 2}
FIG = {"name": "fig", "price": 0.5}


def save(preferences: dict[str, str], session: dict[str, str]) -> Step:
    body = ok({"message": "Preferences saved"})
    return Step("savePrefs", "POST", "/api/v1/preferences", 200, body, preferences, session)


def content(language: str, timezone: str) -> Step:
    prompt = f"Respond in {language}.\nCurrent time in {timezone}: {TIMESTAMP}\n"
    return Step("getContent", "GET", "/api/v1/content", 200, ok(prompt))


def visit(number: int) -> Step:
    text = f"User 123 prefers dark.\nThis is visit #{number}.\n"
    greeting = {"message": {"role": "assistant", "content": text}, "model": "echo"}
    data = {"visits": number, "greeting": greeting, "session_id": SESSION_ID}
    session = {"user_id": "123", "theme": "dark", "visits": number}
    return Step("visitCounter", "GET", "/api/v1/visits", 200, ok(data), session=session)


def greet(names: list[str], status: int, body: dict[str, Any], style: str | None = None) -> Step:
    request = {"names": names} | ({"style": style} if style else {})
    return Step("reply", "POST", "/api/v1/greetings", status, body, request)


def greeting(name: str, position: str) -> dict[str, str]:
    return {"name": name, "greeting": f"Good day, {name}!", "position": position}


def invalid(code: int, *failures: tuple[str, str, str]) -> dict[str, Any]:
    errors = [{"field": field, "type": kind, "message": text} for field, kind, text in failures]
    message = "; ".join(f"{field}: {text}" for field, _, text in failures)
    return {"success": False, "error": {"code": code, "message": message, "errors": errors}}


NOTE = {"text": "buy milk", "at": TIMESTAMP}


def notes(added: bool, stored: list[dict[str, str]]) -> dict[str, Any]:
    return ok({"added": added, "count": len(stored), "notes": stored})


SCENARIOS: dict[str, list[Step]] = {
    "login": [
        PROTECTED,
        login("bob", "secret", 200, ok({"message": "Invalid credentials"}, success=False)),
        PROTECTED,
        login("admin", None, 400, failed(400, "Username and password required")),
        login("admin", "secret", 200, ok({"message": "Login successful"})),
        WELCOME,
        Step("logout", "POST", "/api/v1/logout", 200, ok({"message": "Logged out"}), session={}),
        PROTECTED,
    ],
    "cart": [
        Step("viewCart", "GET", "/api/v1/cart", 200, ok({"items": None, "total": 0})),
        add("apple", 1.25, 1, [APPLE]),
        add("pear", 2, 2, [APPLE, PEAR]),
        add("fig", 0.5, 3, [APPLE, PEAR, FIG]),
        Step(
            "viewCart", "GET", "/api/v1/cart", 200, ok({"items": [APPLE, PEAR, FIG], "total": 3.75})
        ),
    ],
    "preferences": [
        content("", ""),
        save(
            {"language": "fr", "timezone": "Europe/Paris"},
            {"language": "fr", "timezone": "Europe/Paris", "theme": "light"},
        ),
        content("fr", "Europe/Paris"),
        save(
            {"language": "de", "theme": "dark"},
            {"language": "de", "timezone": "UTC", "theme": "dark"},
        ),
        content("de", "UTC"),
    ],
    "visits": [visit(1), visit(2), visit(3)],
    "greetings": [
        greet(
            ["Ada", "", "Grace"],
            200,
            ok(
                {
                    "greetings": [greeting("Ada", "1 of 3"), greeting("Grace", "3 of 3")],
                    "stats": {"count": 2, "averageLength": 15.0},
                }
            ),
            style="formal",
        ),
        greet(
            [" "],
            200,
            ok(
                {
                    "greetings": [],
                    "stats": {
                        "count": 0,
                        "averageLength": None,
                        "note": "no greetings: division by zero",
                    },
                }
            ),
        ),
        greet(
            list("abcdef"),
            400,
            invalid(
                400,
                ("names", "maxItems", "must be a list of 1 to 5 names"),
                ("style", "enum", "must be one of: formal, casual"),
            ),
            style="loud",
        ),
        Step(
            "reply",
            "GET",
            "/api/v1/greetings",
            405,
            failed(405, "method GET not allowed for reply"),
        ),
    ],
    "notes": [
        Step("listNotes", "GET", "/api/v1/notes", 200, notes(False, [])),
        Step("listNotes", "POST", "/api/v1/notes", 200, notes(True, [NOTE]), {"text": "buy milk"}),
        Step(
            "listNotes",
            "POST",
            "/api/v1/notes",
            422,
            invalid(422, ("text", "maxLength", "must be at most 140 characters")),
            {"text": "x" * 141},
        ),
        Step(
            "listNotes",
            "POST",
            "/api/v1/notes",
            422,
            invalid(422, ("text", "required", "is required")),
            {},
        ),
        Step(
            "listNotes",
            "GET",
            "/api/v1/notes",
            200,
            notes(False, [NOTE]),
            session={"notes": [NOTE]},
        ),
    ],
}


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    with open_backend(request.param, tmp_path) as backend:
        yield backend.make(ttl=600.0)


@pytest.mark.parametrize("example", sorted(SCENARIOS))
def test_example_scenario(example: str, store: SessionStore) -> None:
    workflow = load_workflow(EXAMPLES / example)
    runner = Runner(workflow, workflow.engine, store)
    session_id: str | None = None
    for number, step in enumerate(SCENARIOS[example], 1):
        request = Request(
            method=step.method,
            path=step.path,
            query=step.query,
            body=step.request_body,
            timestamp=TIMESTAMP,
        )
        response = runner.handle(request, step.action, session_id)
        session_id = response.session_id or session_id
        body = {key: value for key, value in response.body.items() if key != "meta"}
        expected = json.loads(json.dumps(step.body).replace(SESSION_ID, str(session_id)))
        assert (number, response.status, body) == (number, step.status, expected)
        assert response.body["meta"] == {"requestId": request.request_id, "timestamp": TIMESTAMP}
        if step.session is not None:
            assert session_id is not None
            snapshot = store.load(session_id)
            assert (number, snapshot.data if snapshot else None) == (number, step.session)


def test_wrong_login_stores_authenticated_false(store: SessionStore) -> None:
    workflow = load_workflow(EXAMPLES / "login")
    runner = Runner(workflow, workflow.engine, store)
    step = login("bob", "secret", 200, {})
    request = Request(method="POST", path=step.path, body=step.request_body)
    session_id = runner.handle(request, "login").session_id
    assert session_id is not None
    snapshot = store.load(session_id)
    assert snapshot is not None
    assert (snapshot.data["authenticated"], snapshot.data["user"]) == (False, "bob")


CHECK_WARNINGS = {"preferences": 3}
"""SPEC §10: check warns where KDeps would have read the session through an unqualified get;
the seed's preferences copy each request field (or its default) into the session that way."""


@pytest.mark.parametrize("example", sorted(SCENARIOS))
def test_examples_check_clean(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / example)]) == 0
    output = capsys.readouterr().out.splitlines()[-1]
    warnings = CHECK_WARNINGS.get(example, 0)
    assert re.fullmatch(rf"[a-z-]+: \d resources?, 0 errors, {warnings} warnings?", output)


@pytest.fixture
def cart_copy(tmp_path: Path) -> Path:
    """The cart example in a scratch folder, so its SQLite store stays out of the tree."""
    return Path(shutil.copytree(EXAMPLES / "cart", tmp_path / "cart"))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(["run", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_run_keeps_the_session_between_commands(
    cart_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '{"item": {"name": "apple", "price": 1.25}}'
    code, first = run_json(capsys, str(cart_copy), "--action", "addToCart", "--body", body)
    session_id = first["sessionId"]
    assert code == 0
    assert first["status"] == 200
    assert first["headers"] == {"Content-Type": "application/json", "X-Session-ID": session_id}
    assert first["body"]["data"] == {"cart": [APPLE], "count": 1}
    code, second = run_json(
        capsys, str(cart_copy), "--action=addToCart", f"--body={body}", "--session-id", session_id
    )
    assert (code, second["sessionId"], second["body"]["data"]["count"]) == (0, session_id, 2)
    code, view = run_json(capsys, str(cart_copy), "--session-id", session_id)
    assert (code, view["body"]["data"]) == (0, {"items": [APPLE, APPLE], "total": 2.5})
    assert (cart_copy / ".kdeps" / "sessions.db").is_file()


def test_run_prints_the_response_like_http(
    cart_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(cart_copy), "--action", "viewCart"]) == 0
    out = capsys.readouterr().out
    assert re.sub(r'"(requestId|timestamp)": "[^"]+"', r'"\1": "…"', out) == (
        "HTTP 200 OK\n"
        "Content-Type: application/json\n"
        "\n"
        "{\n"
        '  "success": true,\n'
        '  "data": {\n'
        '    "items": null,\n'
        '    "total": 0\n'
        "  },\n"
        '  "meta": {\n'
        '    "requestId": "…",\n'
        '    "timestamp": "…"\n'
        "  }\n"
        "}\n"
    )


def test_run_trace_goes_to_stderr(cart_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = '{"item": {"name": "fig", "price": 0.5}}'
    assert main(["run", str(cart_copy), "--action", "addToCart", "--body", body, "--trace"]) == 0
    assert capsys.readouterr().err == (
        f"addToCart ({cart_copy}/resources/cart.yaml): ran\n"
        "  expr\n"
        "    set('cart', get('cart', 'session') + [get('item')], 'session')  =>  "
        '[{"name": "fig", "price": 0.5}]\n'
        "  apiResponse\n"
        '    get(\'cart\', \'session\')  =>  [{"name": "fig", "price": 0.5}]\n'
        "    len(get('cart', 'session'))  =>  1\n"
        "session changes:\n"
        '  + cart = [{"name": "fig", "price": 0.5}]\n'
    )


@pytest.mark.parametrize(
    ("argv", "code", "status", "message"),
    [
        (["--action", "protectedResource"], 1, 401, "Authentication required"),
        (["--action", "login", "--body", "{}"], 1, 400, "Username and password required"),
    ],
    ids=["unauthorised", "preflight"],
)
def test_run_exits_1_on_an_error_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    status: int,
    message: str,
) -> None:
    folder = shutil.copytree(EXAMPLES / "login", tmp_path / "login")
    result, response = run_json(capsys, str(folder), *argv)
    assert (result, response["status"], response["body"]["error"]) == (
        code,
        status,
        {"code": status, "message": message},
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--action", "nope"], "--action: unknown action 'nope' (actions: addToCart, viewCart)"),
        (
            ["--body", "{oops"],
            "--body is not valid JSON "
            "(Expecting property name enclosed in double quotes at column 2)",
        ),
        (["--query", "novalue"], "--query expects KEY=VALUE, got 'novalue'"),
    ],
    ids=["unknown-action", "bad-body", "bad-query"],
)
def test_run_usage_errors(
    cart_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", str(cart_copy), *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err.endswith(f"kdeps-expr: error: {error}\n")


def test_run_reports_load_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(shutil.copytree(EXAMPLES / "cart", tmp_path / "cart"))
    resource = folder / "resources" / "cart.yaml"
    resource.write_text(resource.read_text().replace("[get('item')]", "[get('item')"))
    assert main(["run", str(folder)]) == 1
    assert capsys.readouterr().err == (
        f"{folder}/resources/cart.yaml:7:67: unexpected ')', expected ',' or ']'\n"
        " |     - set('cart', get('cart', 'session') + [get('item'), 'session')\n"
        f" | {'.' * 66}^\n"
    )
