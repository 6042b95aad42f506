"""Running requests: block order, restrictions, preflight, errors, outputs, sessions, trace."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _llm_server import ModelServer, ollama_error
from _workflows import MAIN, write_workflow

from kdeps_expr.actions.chat import ChatService
from kdeps_expr.language.context import Context, Request
from kdeps_expr.sessions import MemoryStore, SessionStore, SqliteStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.model import ApiResponse, Constant, Tracer, Value
from kdeps_expr.workflow.runner import Response, Runner, Trace

META = {"requestId": "r1", "timestamp": "2026-01-02T03:04:05Z"}


def request(method: str = "GET", path: str = "/", **fields: Any) -> Request:
    return Request(method=method, path=path, request_id="r1", timestamp=META["timestamp"], **fields)


def ok(data: Any, success: bool = True) -> dict[str, Any]:
    return {"success": success, "data": data, "meta": META}


def failed(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}, "meta": META}


@pytest.fixture
def store() -> Iterator[SessionStore]:
    memory = MemoryStore(60.0)
    yield memory
    memory.close()


def runner_for(root: Path, files: dict[str, str], store: SessionStore, **options: Any) -> Runner:
    workflow = load_workflow(write_workflow(root, files))
    return Runner(workflow, workflow.engine, store, **options)


def test_blocks_run_in_spec_order_after_the_requires_closure(
    tmp_path: Path, store: SessionStore
) -> None:
    step = "set('log', get('log') + ['{}'])"
    files = {
        "resources/main.yaml": f"""\
        metadata:
          actionId: main
          requires: [second, first]
        run:
          apiResponse:
            response:
              log: get('log') + ['apiResponse']
          exprAfter: ["{step.format("exprAfter")}"]
          expr: ["{step.format("expr")}"]
          chat:
            prompt: "{{{{ {step.format("chat")} }}}}"
          exprBefore: ["{step.format("exprBefore")}"]
          preflightCheck:
            validations: ["{step.format("preflightCheck")}"]
          skipCondition: ["len({step.format("skipCondition")}) == 0"]
        """,
        "resources/deps.yaml": f"""\
        metadata:
          actionId: first
        run:
          expr: ["{step.format("first")}"]
        ---
        metadata:
          actionId: second
          requires: [first]
        run:
          expr: ["{step.format("second")}"]
        """,
    }
    response = runner_for(tmp_path, files, store).handle(request())
    order = ["first", "second", "skipCondition", "preflightCheck", "exprBefore", "chat"]
    assert response == Response(200, ok({"log": [*order, "expr", "exprAfter", "apiResponse"]}))


GATE = {
    "resources/main.yaml": """\
    metadata:
      actionId: main
      requires: [postOnly, routeR]
    run:
      restrictToHttpMethods: [GET, POST]
      restrictToRoutes: [/main, /r]
      skipCondition:
        - get('skip') == 'yes'
      preflightCheck:
        validations:
          - get('q') != ''
        error:
          code: 422
          message: "q is required, got {{ get('q') ?? 'nothing' }}"
      apiResponse:
        success: get('q') != 'fail'
        response:
          postOnly: get('postOnly')
          routeR: get('routeR')
          q: get('q')
        meta:
          statusCode: 201
          headers:
            X-Q: "{{ get('q') }}"
            X-Count: len(get('q'))
    """,
    "resources/deps.yaml": """\
    metadata:
      actionId: postOnly
    run:
      restrictToHttpMethods: [POST]
      apiResponse:
        response: ran
    ---
    metadata:
      actionId: routeR
    run:
      restrictToRoutes: [/r]
      apiResponse:
        response: [ran]
    """,
}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        (
            "GET",
            "/main",
            {"q": "abc"},
            Response(
                201,
                ok({"postOnly": None, "routeR": None, "q": "abc"}),
                {"X-Q": "abc", "X-Count": "3"},
            ),
        ),
        (
            "post",
            "/r",
            {"q": "a"},
            Response(
                201,
                ok({"postOnly": "ran", "routeR": ["ran"], "q": "a"}),
                {"X-Q": "a", "X-Count": "1"},
            ),
        ),
        (
            "PUT",
            "/main",
            {"q": "a"},
            Response(405, failed(405, "method PUT not allowed for main"), {"Allow": "GET, POST"}),
        ),
        (
            "GET",
            "/other",
            {"q": "a"},
            Response(404, failed(404, "route /other is not served by main")),
        ),
        ("GET", "/other", {"skip": "yes"}, Response(200, ok(None))),
        ("GET", "/main", {}, Response(422, failed(422, "q is required, got nothing"))),
        (
            "GET",
            "/main",
            {"q": "fail"},
            Response(
                201,
                ok({"postOnly": None, "routeR": None, "q": "fail"}, success=False),
                {"X-Q": "fail", "X-Count": "4"},
            ),
        ),
    ],
    ids=[
        "dependencies-skipped",
        "dependencies-run",
        "method-not-allowed",
        "route-not-served",
        "skip-condition-first",
        "preflight-failed",
        "success-false",
    ],
)
def test_restrictions_skip_conditions_and_preflight(
    tmp_path: Path,
    store: SessionStore,
    method: str,
    path: str,
    query: dict[str, str],
    expected: Response,
) -> None:
    runner = runner_for(tmp_path, GATE, store)
    assert runner.handle(request(method, path, query=query)) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("run:\n  chat:\n    prompt: Hello {{ get('who') }}\n", ok("Hello Ann")),
        ("run:\n  expr: [\"set('a', 1)\"]\n", ok(None)),
        ("run:\n  skipCondition: [true]\n  chat:\n    prompt: hi\n", ok(None)),
        ("run: {}\n", ok(None)),
    ],
    ids=["chat-reply", "no-primary-action", "skipped", "empty"],
)
def test_target_without_api_response_answers_its_output(
    tmp_path: Path, store: SessionStore, resource: str, expected: dict[str, Any]
) -> None:
    files = {"resources/main.yaml": "metadata:\n  actionId: main\n" + resource}
    runner = runner_for(tmp_path, files, store)
    assert runner.handle(request(query={"who": "Ann"})) == Response(200, expected)


PREFLIGHT = """\
metadata:
  actionId: main
run:
  preflightCheck:
    validations:
      - get('secret') == 'swordfish'
      - get('n') > 3
"""


@pytest.mark.parametrize(
    ("query", "log"),
    [
        (
            {"secret": "nope"},
            [
                (
                    "INFO",
                    "preflight check failed in main (request r1): get('secret') == 'swordfish' "
                    "at WF/resources/main.yaml:6:9",
                )
            ],
        ),
        (
            {"secret": "swordfish"},
            [
                (
                    "WARNING",
                    "preflight validation raised in main (request r1); counted as failed\n"
                    "WF/resources/main.yaml:7:18: cannot compare nil > int\n"
                    " |       - get('n') > 3\n"
                    " | .................^",
                ),
                (
                    "INFO",
                    "preflight check failed in main (request r1): get('n') > 3 "
                    "at WF/resources/main.yaml:7:9",
                ),
            ],
        ),
    ],
    ids=["false", "raises"],
)
def test_failed_validation_is_logged_never_sent(
    tmp_path: Path,
    store: SessionStore,
    caplog: pytest.LogCaptureFixture,
    query: dict[str, str],
    log: list[tuple[str, str]],
) -> None:
    runner = runner_for(tmp_path, {"resources/main.yaml": PREFLIGHT}, store)
    with caplog.at_level(logging.INFO, logger="kdeps_expr.runner"):
        response = runner.handle(request(query=query))
    assert response == Response(400, failed(400, "preflight check failed"))
    records = [(r.levelname, r.getMessage().replace(str(tmp_path), "WF")) for r in caplog.records]
    assert records == log


BROKEN = """\
metadata:
  actionId: main
run:
  expr:
    - set('saved', 1, 'session')
    - 10 / get('zero', 0)
"""


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_evaluation_error_is_a_500_with_the_detail_in_the_log(
    tmp_path: Path, store: SessionStore, caplog: pytest.LogCaptureFixture, debug: bool
) -> None:
    runner = runner_for(tmp_path, {"resources/main.yaml": BROKEN}, store, debug=debug)
    detail = (
        f"{tmp_path}/resources/main.yaml:6:10: division by zero\n"
        " |     - 10 / get('zero', 0)\n"
        " | .........^"
    )
    body = failed(500, "expression failed in main (request r1)")
    if debug:
        body["error"]["detail"] = detail
    with caplog.at_level(logging.ERROR, logger="kdeps_expr.runner"):
        response = runner.handle(request())
    assert response == Response(500, body)
    assert [r.getMessage() for r in caplog.records] == [
        f"expression failed in main (request r1)\n{detail}"
    ]
    assert list(store.sessions()) == []


CHAT = {
    "resources/main.yaml": """\
    metadata:
      actionId: main
      requires: [ask]
    run:
      apiResponse:
        response:
          answer: get('ask').message.content
          model: get('ask').model
    ---
    metadata:
      actionId: ask
    run:
      chat:
        model: "{{ get('model') }}-large"
        role: user
        backend: ollama
        baseUrl: "{{ get('server') }}"
        timeoutDuration: 2m
        prompt: |
          Say {{ get('word') }}
    """,
}


def test_chat_sends_the_rendered_prompt_and_its_reply_is_the_output(
    tmp_path: Path, store: SessionStore, model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.text = None  # the server answers the last message's text
    runner = runner_for(tmp_path, CHAT, store, chat=chat_service)
    query = {"model": "llama", "word": "hi", "server": model_server.url}
    response = runner.handle(request(query=query))
    assert response == Response(200, ok({"answer": "Say hi\n", "model": "llama-large"}))
    [sent] = model_server.received
    assert (sent.path, sent.body["model"], sent.body["messages"]) == (
        "/api/chat",
        "llama-large",
        [{"role": "user", "content": "Say hi\n"}],
    )


def test_a_chat_that_fails_answers_its_status_and_names_the_model(
    tmp_path: Path,
    store: SessionStore,
    model_server: ModelServer,
    chat_service: ChatService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model_server.script(ollama_error(404, 'model "llama-large" not found'))
    runner = runner_for(tmp_path, CHAT, store, chat=chat_service, debug=True)
    query = {"model": "llama", "word": "hi", "server": model_server.url}
    with caplog.at_level(logging.ERROR, logger="kdeps_expr.runner"):
        response = runner.handle(request(query=query))
    message = (
        f"chat failed in ask: ollama model 'llama-large' at {model_server.url}/api/chat: "
        'answered 404: model "llama-large" not found (request r1)'
    )
    assert response == Response(502, failed(502, message))
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [(message, None)]


class Exploding(Value):
    """A value whose evaluation hits a bug (not an expression error)."""

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        raise RuntimeError("boom")


def test_a_bug_is_still_one_json_answer(
    tmp_path: Path, store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    workflow = load_workflow(write_workflow(tmp_path, {"resources/main.yaml": MAIN}))
    main = dataclasses.replace(
        workflow.resources["main"], api_response=ApiResponse(Exploding(), Constant(None))
    )
    workflow = dataclasses.replace(workflow, resources={"main": main}, plans={"main": (main,)})
    with caplog.at_level(logging.ERROR, logger="kdeps_expr.runner"):
        response = Runner(workflow, workflow.engine, store).handle(request())
    assert response == Response(500, failed(500, "internal error in main (request r1)"))
    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("internal error in main (request r1): RuntimeError: boom", True)
    ]


def test_header_values_cannot_hold_line_breaks(tmp_path: Path, store: SessionStore) -> None:
    files = {
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          apiResponse:
            meta:
              headers:
                X-Echo: get('text')
        """
    }
    runner = runner_for(tmp_path, files, store, debug=True)
    response = runner.handle(request(query={"text": "a\r\nSet-Cookie: x=1"}))
    body = failed(500, "expression failed in main (request r1)")
    body["error"]["detail"] = "response header X-Echo must not contain a line break"
    assert response == Response(500, body)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("caf\u00e9 \u2713", "'\u2713'"), ("a\x00b", "'\\x00'"), ("a\x7fb", "'\\x7f'")],
    ids=["beyond-latin-1", "nul", "del"],
)
def test_header_values_hold_only_what_http_can_carry(
    tmp_path: Path, store: SessionStore, text: str, shown: str
) -> None:
    """A value HTTP cannot send fails the request (and its session write) here, as a 500,
    rather than in the transport after the session was saved."""
    files = {
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          expr:
            - set('seen', true, 'session')
          apiResponse:
            meta:
              headers:
                X-Echo: get('text')
        """
    }
    runner = runner_for(tmp_path, files, store, debug=True)
    response = runner.handle(request(query={"text": text}))
    body = failed(500, "expression failed in main (request r1)")
    body["error"]["detail"] = f"response header X-Echo cannot carry the character {shown}"
    assert response == Response(500, body)
    assert list(store.sessions()) == []


def test_header_values_may_hold_latin_1_text_and_tabs(tmp_path: Path, store: SessionStore) -> None:
    files = {
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          apiResponse:
            meta:
              headers:
                X-Echo: get('text')
        """
    }
    response = runner_for(tmp_path, files, store).handle(
        request(query={"text": "caf\u00e9\tau lait"})
    )
    assert response.headers == {"X-Echo": "caf\u00e9\tau lait"}


def test_responses_share_no_containers(tmp_path: Path, store: SessionStore) -> None:
    files = {
        "resources/main.yaml": (
            "metadata:\n  actionId: main\nrun:\n  apiResponse:\n"
            "    response:\n      items: [1, {a: 2}]\n"
        )
    }
    runner = runner_for(tmp_path, files, store)
    runner.handle(request()).body["data"]["items"][1]["a"] = 99
    assert runner.handle(request()) == Response(200, ok({"items": [1, {"a": 2}]}))


def test_unknown_action(tmp_path: Path, store: SessionStore) -> None:
    runner = runner_for(tmp_path, {"resources/main.yaml": BROKEN}, store)
    assert runner.handle(request(), "nope") == Response(404, failed(404, "unknown action 'nope'"))


SESSION = {
    "resources/main.yaml": """\
    metadata:
      actionId: main
    run:
      preflightCheck:
        validations: [get('fail') != 'preflight']
      expr:
        - "get('write') == 'yes' ? set('n', get('n', 'session') + 1, 'session') : nil"
        - "get('fail') == 'eval' ? 1 / 0 : nil"
      apiResponse:
        response:
          n: get('n', 'session')
          id: "get('id') == 'yes' ? info('sessionId') : nil"
    ---
    metadata:
      actionId: later
      requires: [main]
    run:
      preflightCheck:
        validations: [get('fail') != 'later']
    """,
}


@pytest.mark.parametrize(
    ("query", "status", "n_after", "returns_id"),
    [
        ({}, 200, 1, True),
        ({"write": "yes"}, 200, 2, True),
        ({"write": "yes", "fail": "eval"}, 500, 1, True),
        ({"write": "yes", "fail": "later"}, 400, 1, True),
    ],
    ids=["read-only", "write", "error-after-write", "later-preflight-after-write"],
)
def test_a_failed_request_leaves_the_session_untouched(
    tmp_path: Path,
    store: SessionStore,
    query: dict[str, str],
    status: int,
    n_after: int,
    returns_id: bool,
) -> None:
    runner = runner_for(tmp_path, SESSION, store)
    first = runner.handle(request(query={"write": "yes"}), "main")
    assert first.body["data"] == {"n": 1, "id": None}
    session_id = first.session_id
    assert session_id is not None
    response = runner.handle(request(query=query), "later", session_id)
    assert response.status == status
    assert (response.session_id == session_id) is returns_id
    snapshot = store.load(session_id)
    assert snapshot is not None and snapshot.data == {"n": n_after}


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ({}, False),
        ({"id": "yes"}, True),
        ({"write": "yes"}, True),
        ({"write": "yes", "fail": "eval"}, False),
    ],
    ids=["untouched", "id-read", "written", "failed"],
)
def test_a_session_is_created_only_when_written_or_its_id_is_read(
    tmp_path: Path, store: SessionStore, query: dict[str, str], stored: bool
) -> None:
    runner = runner_for(tmp_path, SESSION, store)
    response = runner.handle(request(query=query), "main")
    assert (response.session_id is not None) is stored
    assert [info.session_id for info in store.sessions()] == (
        [response.session_id] if stored else []
    )
    if query.get("id"):
        assert response.body["data"]["id"] == response.session_id


def test_an_unknown_session_id_is_never_adopted(tmp_path: Path, store: SessionStore) -> None:
    runner = runner_for(tmp_path, SESSION, store)
    response = runner.handle(request(query={"write": "yes"}), "main", "made-up-id")
    assert response.session_id not in (None, "made-up-id")
    assert response.body["data"] == {"n": 1, "id": None}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_concurrent_requests_lose_no_update(tmp_path: Path, kind: str) -> None:
    store = MemoryStore(60.0) if kind == "memory" else SqliteStore(tmp_path / "s.db", 60.0)
    runner = runner_for(tmp_path, SESSION, store)
    session_id = runner.handle(request(query={"write": "yes"}), "main").session_id
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: runner.handle(request(query={"write": "yes"}), "main", session_id).status,
                range(40),
            )
        )
    assert statuses == [200] * 40
    assert runner.handle(request(), "main", session_id).body["data"]["n"] == 41
    store.close()


def test_trace(tmp_path: Path, store: SessionStore) -> None:
    runner = runner_for(tmp_path, {**GATE, **SESSION}, store)
    trace = Trace()
    first = runner.handle(request(query={"write": "yes"}), "main")
    runner.handle(request(query={"write": "yes"}), "later", first.session_id, trace)
    assert trace.render().replace(str(tmp_path), "WF") == (
        "main (WF/resources/main.yaml): ran\n"
        "  preflightCheck\n"
        "    get('fail') != 'preflight'  =>  true\n"
        "  expr\n"
        "    get('write') == 'yes' ? set('n', get('n', 'session') + 1, 'session') : nil  =>  2\n"
        "    get('fail') == 'eval' ? 1 / 0 : nil  =>  null\n"
        "  apiResponse\n"
        "    get('n', 'session')  =>  2\n"
        "    get('id') == 'yes' ? info('sessionId') : nil  =>  null\n"
        "later (WF/resources/main.yaml): ran\n"
        "  preflightCheck\n"
        "    get('fail') != 'later'  =>  true\n"
        "session changes:\n"
        "  ~ n: 1 -> 2"
    )
