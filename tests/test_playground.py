"""The playground's JSON API, served by real processes: ``kdeps-expr playground`` alone and
``serve --playground`` beside a workflow. What a try answers, every error with its place,
and what the playground never shows: a stored session, the environment, a secret of the
files, the server's paths."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import STARTUP_TIMEOUT, environment, serve_command
from _workflows import write_workflow

from kdeps_expr.server.playground.redact import is_secret_key, source_line

_PLAYGROUND = re.compile(r"playground.* on (http://\S+:\d+)/_playground/$", re.MULTILINE)


@contextmanager
def process(command: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A server process; yields the base URL its log announces for the playground."""
    with log.open("wb") as sink:
        child = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env or environment()
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (found := _PLAYGROUND.search(log.read_text())):
            assert child.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = found.group(1)
        while True:
            try:
                httpx.get(url + "/_playground/api/info", timeout=1.0)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield url
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def playground_command(*args: str) -> list[str]:
    return [*serve_command(Path("x"))[:3], "playground", *args, "--port", "0"]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log = tmp_path_factory.mktemp("playground") / "playground.log"
    with process(playground_command(), log) as url:
        yield httpx.Client(base_url=url + "/_playground", timeout=10.0)


def evaluate(client: httpx.Client, source: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/evaluate", json={"source": source, **fields})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_try_answers_the_value_and_what_set_changed(alone: httpx.Client) -> None:
    answer = evaluate(
        alone,
        "set('visits', get('visits', 'session') + 1, 'session') && unset('gone', 'session') "
        "== nil && set('seen', get('q'))",
        session='{"visits": 41, "gone": [1], "same": 1.0}',
        query='{"q": "yes"}',
        memory='{"old": 1}',
    )
    assert answer == {
        "ok": True,
        "value": True,
        "type": "bool",
        "text": "true",
        "session": {"visits": 42, "same": 1.0},
        "memory": {"old": 1, "seen": "yes"},
        "changes": {
            "session": [
                {
                    "kind": "changed",
                    "key": "visits",
                    "before": 41,
                    "after": 42,
                    "text": "~ visits: 41 -> 42",
                },
                {"kind": "removed", "key": "gone", "before": [1], "after": None, "text": "- gone"},
            ],
            "memory": [
                {
                    "kind": "added",
                    "key": "seen",
                    "before": None,
                    "after": "yes",
                    "text": '+ seen = "yes"',
                },
            ],
        },
        "reading": {"kind": "expression", "warning": None},
        "errors": [],
    }


def test_a_template_renders_and_reads_as_a_template(alone: httpx.Client) -> None:
    answer = evaluate(
        alone,
        "{{ get('n') }} × {{ [1, 2.0] }}",
        mode="template",
        method="post",
        path="/x",
        body='{"n": 3}',
    )
    assert (answer["ok"], answer["value"], answer["text"]) == (True, "3 × [1,2.0]", "3 × [1,2.0]")
    assert answer["reading"] == {"kind": "template", "warning": None}
    single = evaluate(alone, "{{ [1, 2.0] }}", mode="template")
    assert (single["value"], single["type"], single["text"]) == ([1, 2.0], "list", "[1,2.0]")
    near = evaluate(alone, "lenn(get('x'))")
    assert near["reading"] == {
        "kind": "text",
        "warning": "read as text: unknown function lenn (did you mean 'len'?)",
    }


def test_every_error_is_answered_with_its_place(alone: httpx.Client) -> None:
    answer = evaluate(
        alone,
        "get('a') +",
        query='{"qty": 7}',
        headers="[1]",
        session='{"a": 1,\n "b": }',
        method="FETCH",
        path="x",
        mode="jq",
    )
    assert answer["ok"] is False
    assert [(e["field"], e["message"], e["line"], e["column"]) for e in answer["errors"]] == [
        ("mode", "mode: expected one of expression, template", None, None),
        (
            "method",
            "method: expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
            None,
            None,
        ),
        ("path", "path: expected a path beginning with /", None, None),
        ("query", "query: the value of 'qty' must be text, as HTTP sends it (write \"7\")", 1, 2),
        ("headers", "headers: expected a JSON object {…}", 1, 1),
        ("session", "session: Expecting value", 2, 7),
        ("source", "unexpected end of expression", 1, 11),
    ]
    assert answer["errors"][5]["rendered"] == (
        'session: Expecting value (2:7)\n |  "b": }\n | ......^'
    )
    failed = evaluate(alone, "set('x', 1, 'session') + (1 / 0)", session='{"x": 0}')
    assert failed["ok"] is False and "session" not in failed and "changes" not in failed
    assert failed["errors"] == [
        {
            "field": "source",
            "message": "division by zero",
            "line": 1,
            "column": 29,
            "sourceLine": "set('x', 1, 'session') + (1 / 0)",
            "rendered": "division by zero (1:29)\n | set('x', 1, 'session') + (1 / 0)\n"
            " | ............................^",
        }
    ]


def test_the_api_refuses_what_is_not_a_try(alone: httpx.Client) -> None:
    assert alone.post("/api/evaluate", content=b"[1]").json() == {
        "ok": False,
        "error": "the request must be a JSON object",
    }
    assert alone.post("/api/evaluate", content=b"{").status_code == 400
    big = alone.post("/api/evaluate", content=b" " * (256 * 1024 + 1))
    assert (big.status_code, big.json()["error"]) == (
        413,
        "the request is larger than 262144 bytes",
    )
    assert alone.get("/api/evaluate").status_code == 405
    assert alone.get("/api/graph.svg").status_code == 404
    assert alone.get("/api/explain").json() == {"workflow": None, "values": [], "problems": []}
    assert alone.get("/api/info").json()["workflow"] is None
    home = alone.get("/..", follow_redirects=False)
    assert home.status_code in (307, 404)


def test_the_page_and_its_files_come_from_the_package(alone: httpx.Client) -> None:
    page = alone.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts == ["data:,", "static/playground.css", "static/playground.js"]
    for name in scripts[1:]:
        assert alone.get("/" + name).status_code == 200
    assert not re.search(r"https?://", page.text + alone.get("/static/playground.js").text)
    redirect = httpx.get(
        str(alone.base_url).rsplit("/_playground", 1)[0] + "/", follow_redirects=False
    )
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/_playground/")


VAULT = {
    "workflow.yaml": """\
        apiVersion: kdeps.io/v1
        kind: Workflow
        metadata:
          name: vault
          version: "2.0"
          targetActionId: keep
        settings:
          apiServer:
            routes:
              - path: /keep
                methods: [POST]
          session:
            type: sqlite
          llm:
            backend: openai
            apiKey: sk-settings-SECRET1
          sqlConnections:
            main:
              connection: postgres://app:pw-SECRET2@db.internal/app
        """,
    "resources/keep.yaml": """\
        actionId: call
        httpClient:
          url: "https://robot:pw-SECRET3@api.example.com/v1?q={{ get('q') }}"
          headers:
            Authorization: Bearer tok-SECRET4
            X-Trace: upper(get('q'))
        ---
        actionId: ask
        chat:
          model: m
          apiKey: "sk-chat-SECRET5"
          prompt: "{{ get('q') }}"
        ---
        actionId: keep
        after:
          - set('note', get('note'), 'session')
        apiResponse:
          response:
            kept: get('note', 'session')
            id: info('sessionId')
        """,
}


def test_serve_playground_shows_no_session_environment_or_secret(tmp_path: Path) -> None:
    workflow = write_workflow(tmp_path / "vault", VAULT)
    env = {**environment(), "KDEPS_PLAYGROUND_HIDDEN": "env-SECRET6"}
    log = tmp_path / "server.log"
    command = serve_command(workflow, "--host", "127.0.0.1", "--port", "0", "--playground")
    with process(command, log, env) as url:
        stored = httpx.post(f"{url}/keep", json={"note": "stored-SECRET7"}, timeout=10)
        assert stored.status_code == 200 and stored.json()["data"]["kept"] == "stored-SECRET7"
        session_id = stored.json()["data"]["id"]
        client = httpx.Client(base_url=url + "/_playground", timeout=10.0)
        seen: list[str] = []
        for path in ("/", "/api/info", "/api/explain", "/api/graph.svg", "/api/graph.mmd"):
            response = client.get(path, headers={"X-Session-ID": session_id})
            assert response.status_code == 200, path
            seen.append(response.text)
        tries = {
            "session()": {},
            "get('note', 'session')": {},
            "info('sessionId')": {},
            "env('KDEPS_PLAYGROUND_HIDDEN')": {},
            "get('KDEPS_PLAYGROUND_HIDDEN', 'env', 'none')": {},
            "get('note', 'session') ?? session()": {"session": '{"mine": 1}'},
        }
        answers = {}
        for source, fields in tries.items():
            response = client.post(
                "/api/evaluate",
                json={"source": source, **fields},
                headers={"X-Session-ID": session_id, "Cookie": f"kdeps_session_id={session_id}"},
            )
            answers[source] = response.json()
            seen.append(response.text)
    everything = "\n".join(seen)
    assert "SECRET" not in everything
    assert session_id not in everything
    assert str(tmp_path) not in everything
    assert answers["session()"]["value"] == {}
    assert answers["get('note', 'session')"]["value"] is None
    assert answers["get('note', 'session') ?? session()"]["value"] == {"mine": 1}
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", answers["info('sessionId')"]["value"])
    assert [e["message"] for e in answers["env('KDEPS_PLAYGROUND_HIDDEN')"]["errors"]] == [
        "env(): the playground never reads the server's environment"
    ]
    assert [
        e["message"] for e in answers["get('KDEPS_PLAYGROUND_HIDDEN', 'env', 'none')"]["errors"]
    ] == ["get(key, 'env'): the playground never reads the server's environment"]
    explained = {(v["file"], v["line"]): v for v in _explain(seen)}
    assert explained[("vault/resources/keep.yaml", 3)]["text"] == (
        "https://robot:[redacted]@api.example.com/v1?q={{ get('q') }}"
    )
    assert explained[("vault/resources/keep.yaml", 5)]["text"] == "[redacted]"
    assert explained[("vault/resources/keep.yaml", 6)] == {
        "file": "vault/resources/keep.yaml",
        "line": 6,
        "column": 14,
        "kind": "expression",
        "text": "upper(get('q'))",
        "warning": None,
    }
    assert explained[("vault/resources/keep.yaml", 11)]["text"] == "[redacted]"


def _explain(seen: list[str]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = json.loads(seen[2])["values"]
    return values


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("apiKey", True),
        ("api_key", True),
        ("X-Auth-Token", True),
        ("Authorization", True),
        ("password", True),
        ("clientSecret", True),
        ("maxTokens", False),
        ("budgetTokens", False),
        ("model", False),
        ("prompt", False),
    ],
)
def test_which_keys_name_a_secret(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("    apiKey: sk-123", "    apiKey: [redacted]"),
        ('  - "password": hunter2', '  - "password": [redacted]'),
        ("  url: redis://u:pw@h:6379/0", "  url: redis://u:[redacted]@h:6379/0"),
        ("  prompt: hello", "  prompt: hello"),
        ("  maxTokens: 10", "  maxTokens: 10"),
    ],
)
def test_source_lines_keep_the_key_of_a_secret_only(line: str, shown: str) -> None:
    assert source_line(line) == shown


def test_serve_refuses_a_route_under_the_playground(tmp_path: Path) -> None:
    files = {
        "workflow.yaml": VAULT["workflow.yaml"].replace("/keep", "/_playground/keep"),
        "resources/keep.yaml": VAULT["resources/keep.yaml"],
    }
    workflow = write_workflow(tmp_path / "vault", files)
    command = serve_command(workflow, "--port", "0", "--playground")
    done = subprocess.run(command, capture_output=True, text=True, env=environment(), timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "--playground: the workflow's route /_playground/keep is under /_playground, where "
        "the playground is served; serve it without --playground"
    )


def test_playground_beside_a_workflow_uses_its_names(tmp_path: Path) -> None:
    workflow = write_workflow(tmp_path / "vault", VAULT)
    with process(playground_command(str(workflow)), tmp_path / "p.log") as url:
        client = httpx.Client(base_url=url + "/_playground", timeout=10.0)
        about = client.get("/api/info").json()
        reserved = evaluate(client, "set('keep', 1)")
        named = evaluate(client, "info('workflow.name') + ' ' + info('workflow.version')")
        assert client.get("/api/graph.mmd").text.startswith("flowchart TD\n")
    assert about["workflow"] == {
        "name": "vault",
        "version": "2.0",
        "targetActionId": "keep",
        "resources": ["call", "ask", "keep"],
        "routes": [{"path": "/keep", "methods": ["POST"], "actionId": "keep"}],
    }
    assert {"len", "get", "item.current"} <= set(about["functions"])
    assert reserved["errors"][0]["message"] == (
        "set(): 'keep' is the actionId of a resource and cannot be set"
    )
    assert named["value"] == "vault 2.0"
    assert not (workflow / ".kdeps").exists(), "the playground opened the session store"
