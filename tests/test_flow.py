"""What a resource does with a request (SPEC §10): validations and the input schema, items,
loop, onError, route patterns, allow-lists, and the 501 of an action not run here."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _llm_server import ModelServer, ollama_error
from _workflows import HEADER, write_workflow

from kdeps_expr.actions.chat import ChatService, LLMSettings
from kdeps_expr.language.context import Request
from kdeps_expr.sessions import MemoryStore, SessionStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.runner import Response, Runner

META = {"requestId": "r1", "timestamp": "2026-01-02T03:04:05Z"}


@pytest.fixture
def store() -> Iterator[SessionStore]:
    memory = MemoryStore(60.0)
    yield memory
    memory.close()


def run(
    root: Path,
    resource: str,
    store: SessionStore,
    *,
    method: str = "GET",
    path: str = "/",
    chat: ChatService | None = None,
    session_id: str | None = None,
    **fields: Any,
) -> Response:
    workflow = load_workflow(write_workflow(root, {"resources/main.yaml": resource}))
    runner = Runner(workflow, workflow.engine, store, chat=chat, debug=True)
    request = Request(method, path, request_id="r1", timestamp=META["timestamp"], **fields)
    return runner.handle(request, session_id=session_id)


def data(response: Response) -> Any:
    assert response.status == 200, response.body
    return response.body["data"]


# ---- the input schema ------------------------------------------------------------------

RULES = """\
actionId: main
validations:
  required: [name]
  properties:
    name: {type: string, minLength: 2, maxLength: 5, pattern: '^[A-Z]'}
    age: {type: integer, minimum: 18, maximum: 120}
    score: {type: number, max: 10}
    tags: {type: array, minItems: 1, maxItems: 2}
    email: {format: email}
    site: {type: url}
    id: {type: uuid}
    day: {type: date}
    ok: {type: boolean}
    size: {enum: [s, m, 3]}
    nick: {type: string, message: nick must be text}
  expr:
    - get('name') != 'Root'
    - {expr: "get('age') != '99'", message: 99 is not an age}
apiResponse:
  response: fine
"""


AT_LEAST_ONE = "must have at least 1 items"
AT_MOST_TWO = "must have at most 2 items"
URL = "URL must start with http:// or https://"
DATE = "invalid date format (expected RFC 3339 or YYYY-MM-DD)"


@pytest.mark.parametrize(
    ("fields", "failures"),
    [
        ({"query": {"name": "Ada", "age": "42"}}, []),
        ({"body": {"name": "Ada", "age": 42.0, "score": 9.5, "tags": ["a"]}}, []),
        ({"query": {}}, [("name", "required", "is required")]),
        ({"query": {"name": ""}}, [("name", "required", "is required")]),
        ({"query": {"name": "A"}}, [("name", "minLength", "must be at least 2 characters")]),
        ({"query": {"name": "Abcdef"}}, [("name", "maxLength", "must be at most 5 characters")]),
        ({"query": {"name": "ada"}}, [("name", "pattern", "does not match the required pattern")]),
        ({"body": {"name": 7}}, [("name", "type", "must be a string")]),
        ({"query": {"name": "Ada", "age": "4.5"}}, [("age", "type", "must be an integer")]),
        ({"body": {"name": "Ada", "age": True}}, [("age", "type", "must be an integer")]),
        ({"query": {"name": "Ada", "age": "17"}}, [("age", "minimum", "must be at least 18")]),
        ({"query": {"name": "Ada", "score": "11"}}, [("score", "maximum", "must be at most 10")]),
        ({"body": {"name": "Ada", "tags": []}}, [("tags", "minItems", AT_LEAST_ONE)]),
        ({"body": {"name": "Ada", "tags": [1, 2, 3]}}, [("tags", "maxItems", AT_MOST_TWO)]),
        ({"query": {"name": "Ada", "email": "a@b"}}, [("email", "type", "invalid email format")]),
        ({"query": {"name": "Ada", "site": "ftp://x"}}, [("site", "type", URL)]),
        ({"query": {"name": "Ada", "id": "nope"}}, [("id", "type", "invalid UUID format")]),
        ({"query": {"name": "Ada", "day": "2026-13-01"}}, [("day", "type", DATE)]),
        ({"query": {"name": "Ada", "ok": "yes"}}, [("ok", "type", "must be true or false")]),
        ({"query": {"name": "Ada", "size": "3"}}, []),
        ({"query": {"name": "Ada", "size": "l"}}, [("size", "enum", "must be one of: s, m, 3")]),
        ({"body": {"name": "Ada", "nick": 1}}, [("nick", "type", "nick must be text")]),
        ({"query": {"name": "Root"}}, [(None, "custom", "custom validation failed")]),
        (
            {"query": {"name": "R", "age": "99"}},
            [
                ("name", "minLength", "must be at least 2 characters"),
                (None, "custom", "99 is not an age"),
            ],
        ),
    ],
)  # fmt: skip
def test_input_rules(
    tmp_path: Path, store: SessionStore, fields: dict[str, Any], failures: list[Any]
) -> None:
    response = run(tmp_path, RULES, store, **fields)
    if not failures:
        assert data(response) == "fine"
        return
    errors = [{"field": f, "type": k, "message": m} for f, k, m in failures]
    message = "; ".join(f"{f}: {m}" if f else m for f, _, m in failures)
    assert response == Response(
        400,
        {
            "success": False,
            "error": {"code": 400, "message": message, "errors": errors},
            "meta": META,
        },
    )


def test_input_rules_run_after_the_check_and_use_its_code(
    tmp_path: Path, store: SessionStore
) -> None:
    resource = """\
    actionId: main
    validations:
      check: [get('token') == 's3']
      error: {code: 401, message: "{{ 'who are you?' }}"}
      required: [name]
    """
    assert run(tmp_path, resource, store).body["error"] == {
        "code": 401,
        "message": "who are you?",
    }
    refused = run(tmp_path, resource, store, query={"token": "s3"})
    assert (refused.status, refused.body["error"]["message"]) == (401, "name: is required")


def test_a_custom_rule_that_raises_counts_as_failed(
    tmp_path: Path, store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    resource = "actionId: main\nvalidations:\n  expr: [get('n') > 3]\n"
    with caplog.at_level(logging.WARNING, logger="kdeps_expr.runner"):
        response = run(tmp_path, resource, store)
    assert response.body["error"]["message"] == "custom validation failed"
    assert (
        caplog.records[0]
        .getMessage()
        .startswith("custom validation 1 raised in main (request r1); counted as failed\n")
    )


# ---- allow-lists and routes -----------------------------------------------------------


def test_allow_lists_hide_what_they_do_not_list(tmp_path: Path, store: SessionStore) -> None:
    resource = """\
    actionId: main
    validations:
      headers: [X-Token]
      params: [q]
    apiResponse:
      response:
        token: get('x-token', 'header')
        agent: get('user-agent')
        q: get('q')
        secret: get('secret')
        body: get('b', 'body')
    """
    response = run(
        tmp_path,
        resource,
        store,
        query={"q": "1", "secret": "2"},
        body={"b": 3},
        headers={"X-Token": "t", "User-Agent": "curl"},
    )
    assert data(response) == {"token": "t", "agent": None, "q": "1", "secret": None, "body": None}


@pytest.mark.parametrize(
    ("pattern", "path", "served"),
    [
        ("/api/*", "/api/v1", True),
        ("/api/*", "/api/v1/users/7", True),
        ("/api/*", "/api", False),
        ("/api/*/users", "/api/v2/users", True),
        ("/api/*/users", "/api/v2/teams", False),
        ("/api/users/:id", "/api/users/7", True),
        ("/api/users/:id", "/api/users/", False),
        ("/api/users/:id", "/api/users/7/posts", False),
        ("/api/users", "/api/users/", False),
    ],
)
def test_route_patterns_of_resources(
    tmp_path: Path, store: SessionStore, pattern: str, path: str, served: bool
) -> None:
    resource = (
        f"actionId: main\nvalidations:\n  routes: ['{pattern}']\napiResponse:\n  response: 1\n"
    )
    response = run(tmp_path, resource, store, path=path)
    assert response.status == (200 if served else 404)


# ---- items -----------------------------------------------------------------------------

ITEMS = """\
actionId: main
items:
  - first
  - "{{ get('more') }}"
  - last
validations:
  skip:
    - get('current') == 'skip'
after:
  - set('seen', (get('seen') ?? []) + [get('index')])
apiResponse:
  response:
    current: get('current')
    item: get('item', 'item')
    prev: get('prev')
    next: get('next', 'item')
    index: get('index')
    count: get('count', 'item')
    all: len(get('all'))
"""


def test_items_run_the_body_once_per_item(tmp_path: Path, store: SessionStore) -> None:
    response = run(tmp_path, ITEMS, store, body={"more": ["a", "skip"]})
    fields = ("current", "item", "prev", "next", "index", "count", "all")
    assert [tuple(item[name] for name in fields) for item in data(response)] == [
        ("first", "first", None, "a", 0, 4, 4),
        ("a", "a", "first", "skip", 1, 4, 4),
        ("last", "last", "skip", None, 3, 4, 4),
    ]


def test_items_output_is_the_list_of_item_outputs(tmp_path: Path, store: SessionStore) -> None:
    resource = ITEMS.replace("actionId: main", "actionId: each") + (
        "---\nactionId: main\nrequires: [each]\napiResponse:\n  response:\n"
        "    values: get('each', 'itemvalues')\n    output: get('each')\n"
        "    seen: get('seen')\n    none: get('main', 'itemvalues')\n"
        "    outside: get('current')\n"
    )
    answer = data(run(tmp_path, resource, store, body={"more": "b", "current": "req"}))
    assert [item["current"] for item in answer["values"]] == ["first", "b", "last"]
    assert answer["output"] == answer["values"]
    assert (answer["seen"], answer["none"], answer["outside"]) == ([0, 1, 2], None, "req")


def test_items_of_an_empty_list_answer_an_empty_list(tmp_path: Path, store: SessionStore) -> None:
    resource = "actionId: main\nitems: \"{{ get('none') ?? [] }}\"\napiResponse:\n  response: 1\n"
    assert data(run(tmp_path, resource, store)) == []


# ---- loop ------------------------------------------------------------------------------


def test_loop_runs_while_its_condition_holds(tmp_path: Path, store: SessionStore) -> None:
    resource = """\
    actionId: main
    loop:
      while: (get('n') ?? 0) < 3
      maxIterations: 10
    after:
      - set('n', (get('n') ?? 0) + 1)
    apiResponse:
      response: get('n') * 10
    """
    assert data(run(tmp_path, resource, store)) == [10, 20, 30]


def test_loop_stops_at_max_iterations_and_waits_between_them(
    tmp_path: Path, store: SessionStore
) -> None:
    resource = """\
    actionId: main
    loop:
      maxIterations: 3
      every: 40ms
    after:
      - set('n', (get('n') ?? 0) + 1)
    ---
    actionId: answer
    requires: [main]
    apiResponse:
      response: get('n')
    """
    started = time.monotonic()
    workflow = load_workflow(write_workflow(tmp_path, {"resources/main.yaml": resource}))
    response = Runner(workflow, workflow.engine, store).handle(Request(), "answer")
    assert (response.status, response.body["data"]) == (200, 3)
    assert time.monotonic() - started >= 0.08  # two pauses, none after the last iteration


def test_loop_around_items(tmp_path: Path, store: SessionStore) -> None:
    resource = """\
    actionId: main
    loop:
      maxIterations: 2
    items: [a, b]
    apiResponse:
      response: "{{ get('current') }}{{ get('round') ?? 0 }}"
    after:
      - set('round', (get('round') ?? 0) + 1)
    """
    assert data(run(tmp_path, resource, store)) == [["a1", "b2"], ["a3", "b4"]]


# ---- onError ---------------------------------------------------------------------------


RETRY = """\
actionId: main
before:
  - set('visits', get('visits', 'session') + 1, 'session')
chat:
  backend: ollama
  baseUrl: {url}
  model: m
  prompt: hello
onError:
  action: retry
  maxRetries: 2
  retryDelay: 20ms
"""


@pytest.fixture
def no_retries() -> Iterator[ChatService]:
    """A chat service that tries each call once: onError's retries are the only ones."""
    with ChatService(LLMSettings(retries=0), environ={}) as service:
        yield service


def test_retry_runs_the_body_again_and_keeps_only_the_last_attempt(
    tmp_path: Path, store: SessionStore, model_server: ModelServer, no_retries: ChatService
) -> None:
    model_server.text = None
    model_server.script(ollama_error(500, "down (1)"), ollama_error(500, "down (2)"))
    started = time.monotonic()
    response = run(tmp_path, RETRY.format(url=model_server.url), store, chat=no_retries)
    assert (data(response), len(model_server.received)) == ("hello", 3)
    assert time.monotonic() - started >= 0.06  # 20 ms, then doubled to 40 ms
    assert response.session_id is not None
    snapshot = store.load(response.session_id)
    assert snapshot is not None and snapshot.data == {"visits": 1}


def test_retry_exhausted_fails_the_request(
    tmp_path: Path, store: SessionStore, model_server: ModelServer, no_retries: ChatService
) -> None:
    model_server.script(*(ollama_error(500, f"down ({n})") for n in range(1, 6)))
    response = run(tmp_path, RETRY.format(url=model_server.url), store, chat=no_retries)
    assert (response.status, len(model_server.received)) == (502, 3)
    assert response.body["error"]["message"] == (
        f"chat failed in main: ollama model 'm' at {model_server.url}/api/chat: "
        "answered 500: down (3) (request r1)"
    )
    assert list(store.sessions()) == []


CONTINUE = """\
actionId: main
after:
  - set('ratio', 10 / get('d', 0))
onError:
  action: continue
  when:
    - error.message contains 'zero'
  expr:
    - set('why', error.message)
    - set('kind', get('error').type)
  fallback:
    ratio: null
    why: get('why')
    kind: get('kind')
---
actionId: answer
requires: [main]
apiResponse:
  response:
    main: get('main')
    error: get('error')
    ratio: get('ratio')
"""


def test_continue_answers_the_fallback_and_reads_the_error(
    tmp_path: Path, store: SessionStore
) -> None:
    workflow = load_workflow(write_workflow(tmp_path, {"resources/main.yaml": CONTINUE}))
    runner = Runner(workflow, workflow.engine, store)
    assert runner.handle(Request(), "answer").body["data"] == {
        "main": {"ratio": None, "why": "division by zero", "kind": "execution_error"},
        "error": None,
        "ratio": None,
    }
    assert runner.handle(Request(query={"d": "x"}), "answer").status == 500  # not in `when`


@pytest.mark.parametrize(
    ("policy", "status", "output"),
    [
        ("action: continue", 200, {"_error": {"message": "division by zero", "handled": True}}),
        ("action: fail", 500, None),
        ("expr: [\"set('x', 1)\"]", 500, None),
    ],
    ids=["continue-without-fallback", "fail", "default-fails"],
)
def test_on_error_actions(
    tmp_path: Path, store: SessionStore, policy: str, status: int, output: Any
) -> None:
    resource = f"actionId: main\nafter: ['1 / 0']\nonError:\n  {policy}\n"
    response = run(tmp_path, resource, store)
    assert response.status == status
    if status == 200:
        assert response.body["data"] == output


# ---- not run here ----------------------------------------------------------------------

NOT_RUN = """\
actionId: fetch
validations:
  routes: [/fetch]
browser:
  url: https://example.com
---
actionId: main
requires: [fetch]
apiResponse:
  response: served
"""


def test_an_action_not_run_here_answers_501_only_when_reached(
    tmp_path: Path, store: SessionStore
) -> None:
    files = {"workflow.yaml": HEADER, "resources/main.yaml": NOT_RUN}
    workflow = load_workflow(write_workflow(tmp_path, files))
    runner = Runner(workflow, workflow.engine, store)
    assert runner.handle(Request(path="/other", request_id="r1")).body["data"] == "served"
    response = runner.handle(Request(path="/fetch", request_id="r1", timestamp=META["timestamp"]))
    assert response == Response(
        501,
        {
            "success": False,
            "error": {
                "code": 501,
                "message": "fetch uses browser, which this engine does not run (request r1)",
            },
            "meta": META,
        },
    )


def test_an_inline_chat_runs_and_its_output_is_underscore_output(
    tmp_path: Path, store: SessionStore
) -> None:
    resource = """\
    actionId: main
    before:
      - chat:
          prompt: "{{ 'inline ' + get('q') }}"
      - set('got', get('_output').message.content)
    apiResponse:
      response: get('got')
    """
    assert data(run(tmp_path, resource, store, query={"q": "hi"})) == "inline hi"
