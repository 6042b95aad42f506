"""SPEC §12 in workflows: httpClient, sql, exec and python resources run for a request.

Every test loads a workflow from YAML and runs it through the Runner against real parts:
an HTTP server on loopback (tests/_upstream.py), SQLite files, the PostgreSQL and Redis of
this machine, real processes. Outputs and KDeps' accessors are read by later resources
and by ``apiResponse``; failures answer 502/504/500 naming the resource, are logged in
full and leave the session as it was, byte for byte.
"""

from __future__ import annotations

import logging
import sqlite3
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _server import free_port
from _upstream import Upstream
from session_backends import POSTGRES_URL, SHARED_BACKENDS, open_backend, require_postgres

from kdeps_expr.language.context import Request
from kdeps_expr.sessions import MemoryStore, SessionStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.executors import Connections
from kdeps_expr.workflow.runner import Response, Runner

TIMESTAMP = "2026-01-02T03:04:05Z"
HEADER = """\
metadata:
  name: executors
  version: "1.0"
  targetActionId: main
settings:
  sqlConnections:
    db:
      connection: "sqlite:///data.db"
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture
def store() -> Iterator[SessionStore]:
    memory = MemoryStore(60.0)
    yield memory
    memory.close()


def workflow_at(root: Path, resources: str, header: str = HEADER) -> Path:
    """A workflow folder: ``header`` as workflow.yaml, ``resources`` (``---``-separated,
    dedented) as resources/all.yaml."""
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "workflow.yaml").write_text(textwrap.dedent(header), encoding="utf-8")
    (root / "resources" / "all.yaml").write_text(textwrap.dedent(resources), encoding="utf-8")
    return root


def request(**fields: Any) -> Request:
    return Request("POST", "/", request_id="r1", timestamp=TIMESTAMP, **fields)


def run(
    root: Path, resources: str, store: SessionStore, header: str = HEADER, **fields: Any
) -> Response:
    workflow = load_workflow(workflow_at(root, resources, header))
    with_runner = Runner(workflow, workflow.engine, store)
    try:
        return with_runner.handle(request(**fields))
    finally:
        with_runner.close()


def data(response: Response) -> Any:
    assert response.status == 200, response.body
    return response.body["data"]


def error(response: Response) -> tuple[int, str]:
    assert response.body["success"] is False
    assert response.body["error"]["code"] == response.status
    return response.status, response.body["error"]["message"]


# ---- outputs and accessors --------------------------------------------------------------------


def test_http_client_output_reaches_later_resources(
    tmp_path: Path, store: SessionStore, upstream: Upstream
) -> None:
    resources = f"""\
    actionId: api
    httpClient:
      method: POST
      url: "{upstream.url("/echo")}"
      params: {{q: "{{{{ get('q') }}}}", tag: [a, b]}}
      headers: {{X-Token: "{{{{ get('token') }}}}"}}
      data: {{name: "{{{{ get('name') }}}}", n: 2}}
    ---
    actionId: main
    requires: [api]
    apiResponse:
      response:
        status: get('api').statusCode
        type: http.responseHeader('api', 'CONTENT-TYPE')
        missing: http.responseHeader('api', 'x-nothing')
        query: http.responseBody('api').query
        token: get('api').data.headers['x-token']
        body: fromJSON(get('api').data.body)
    """
    answer = data(
        run(tmp_path, resources, store, body={"q": "a b&c", "token": "t1", "name": "Ada"})
    )
    assert answer == {
        "status": 200,
        "type": "application/json",
        "missing": None,
        "query": {"q": "a b&c", "tag": ["a", "b"]},
        "token": "t1",
        "body": {"name": "Ada", "n": 2},
    }


def test_exec_output_and_accessors(tmp_path: Path, store: SessionStore) -> None:
    resources = """\
    actionId: run
    exec:
      command: printf '[%s]' {{ get('q') }}; echo oops >&2
    ---
    actionId: main
    requires: [run]
    apiResponse:
      response:
        stdout: get('run').stdout
        exitCode: exec.exitCode('run')
        stderr: exec.stderr('run')
        success: get('run').success
    """
    answer = data(run(tmp_path, resources, store, query={"q": "; rm -rf ~ $(id) `id` *"}))
    assert answer == {
        "stdout": "[; rm -rf ~ $(id) `id` *]",
        "exitCode": 0,
        "stderr": "oops\n",
        "success": True,
    }


def test_a_resource_reads_its_own_output_in_after_and_api_response(
    tmp_path: Path, store: SessionStore
) -> None:
    resources = """\
    actionId: main
    exec:
      command: echo warned >&2; exit 0
    after:
      - set('code', exec.exitCode('main'))
    apiResponse:
      response:
        code: get('code')
        stderr: exec.stderr('main')
    """
    assert data(run(tmp_path, resources, store)) == {"code": 0, "stderr": "warned\n"}


def test_exec_forms_args_sh_c_env_and_working_dir(tmp_path: Path, store: SessionStore) -> None:
    (tmp_path / "sub").mkdir()
    resources = """\
    actionId: plain
    exec:
      command: printf
      args: ["%s|", "{{ get('q') }}", "two words"]
    ---
    actionId: shell
    exec:
      command: sh
      args: ["-c", "printf '<%s>' {{ get('q') }} \\"$MODE\\"; pwd"]
      env: {MODE: "{{ upper('fast') }}"}
      workingDir: sub
    ---
    actionId: main
    requires: [plain, shell]
    apiResponse:
      response: [exec.stdout('plain'), exec.stdout('shell')]
    """
    answer = data(run(tmp_path, resources, store, query={"q": "a;b"}))
    assert answer == ["a;b|two words|", f"<a;b><FAST>{tmp_path.resolve()}/sub\n"]


def test_python_output_args_and_template_values(tmp_path: Path, store: SessionStore) -> None:
    resources = """\
    actionId: calc
    python:
      script: |
        import json, sys
        items = {{ get('items') }}
        note = "{{ get('note') }}"
        print(json.dumps({"n": len(items), "note": note, "argv": sys.argv[1:]}))
      args: ["--mode", "{{ get('mode') }}"]
    ---
    actionId: text
    python:
      script: print("not json")
    ---
    actionId: main
    requires: [calc, text]
    apiResponse:
      response:
        calc: get('calc')
        text: get('text')
        stdout: python.stdout('text')
    """
    note = "\"); import os; os.system('id') #"
    body = {"items": [1, None, {"a": True}], "note": note, "mode": "x y"}
    answer = data(run(tmp_path, resources, store, body=body))
    assert answer == {
        "calc": {"n": 3, "note": note, "argv": ["--mode", "x y"]},
        "text": "not json\n",
        "stdout": "not json\n",
    }


def test_python_script_file_runs_in_the_workflow_folder(
    tmp_path: Path, store: SessionStore
) -> None:
    (tmp_path / "scripts").mkdir()
    job = "import json, os, sys\nprint(json.dumps([os.getcwd(), sys.argv[1:]]))\n"
    (tmp_path / "scripts" / "job.py").write_text(job)
    resources = """\
    actionId: main
    python:
      scriptFile: scripts/job.py
      args: ["{{ get('a') }}", 2]
    """
    answer = data(run(tmp_path, resources, store, query={"a": "x y"}))
    assert answer == [str(tmp_path.resolve()), ["x y", "2"]]


def test_sql_binds_request_values_on_sqlite(tmp_path: Path, store: SessionStore) -> None:
    resources = """\
    actionId: save
    sql:
      connectionName: db
      queries:
        - query: CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, note TEXT)
        - query: INSERT INTO users (name, note) VALUES ($1, '{{ get('note') }}')
          params: ["{{ get('name') }}"]
        - query: SELECT id, name, note FROM users WHERE name LIKE '%{{ get('like') }}%'
    ---
    actionId: main
    requires: [save]
    apiResponse:
      response:
        inserted: get('save')[1]
        rows: get('save')[2]
    """
    evil = "'; DROP TABLE users; --"
    body = {"name": evil, "note": "it's", "like": "DROP"}
    answer = data(run(tmp_path, resources, store, body=body))
    assert answer == {
        "inserted": {"rowsAffected": 1, "lastInsertID": 1, "success": True},
        "rows": [{"id": 1, "name": evil, "note": "it's"}],
    }
    with sqlite3.connect(tmp_path / "data.db") as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [(evil,)]


def test_sql_on_postgresql_pool_opened_once_and_disposed(
    tmp_path: Path, store: SessionStore
) -> None:
    """One pooled connection serves every request of a runner; close() ends it."""
    admin = require_postgres()
    table = f"kdeps_exec_{uuid.uuid4().hex}"
    application = f"kdeps_test_{uuid.uuid4().hex[:12]}"
    header = f"""\
    metadata: {{name: pg, version: "1", targetActionId: main}}
    settings:
      sqlConnections:
        pg:
          connection: "{POSTGRES_URL}?application_name={application}"
          pool: {{maxConnections: 3}}
    """
    resources = f"""\
    actionId: main
    sql:
      connectionName: pg
      queries:
        - query: CREATE TABLE IF NOT EXISTS {table} (id serial PRIMARY KEY, name text)
        - query: INSERT INTO {table} (name) VALUES ($1) RETURNING id, name
          params: ["{{{{ get('name') }}}}"]
    """
    workflow = load_workflow(workflow_at(tmp_path, resources, header))
    runner = Runner(workflow, workflow.engine, store)

    def connections() -> int:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        return int(admin.execute(query, (application,)).fetchone()[0])  # type: ignore[index]

    try:
        for number, name in enumerate(["Ada", "'; DROP TABLE x; --", "Grace"], start=1):
            answer = data(runner.handle(request(body={"name": name})))
            assert answer[1] == [{"id": number, "name": name}]
            assert connections() == 1
        runner.close()
        deadline = time.monotonic() + 5.0  # the server notices a closed connection soon after
        while connections() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert connections() == 0
    finally:
        runner.close()
        admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()


IN_MEMORY = HEADER.replace("sqlite:///data.db", "sqlite:///:memory:")
HITS = """\
actionId: main
sql:
  connectionName: db
  queries:
    - query: CREATE TABLE IF NOT EXISTS hits (n INTEGER)
    - query: INSERT INTO hits VALUES (1)
    - query: SELECT count(*) AS n FROM hits
"""
"""Counts its own requests in a database of the pool (``IN_MEMORY``: of the process)."""


def test_in_memory_sqlite_lives_as_long_as_the_runner(tmp_path: Path, store: SessionStore) -> None:
    workflow = load_workflow(workflow_at(tmp_path, HITS, IN_MEMORY))
    for _ in range(2):
        runner = Runner(workflow, workflow.engine, store)
        counts = [data(runner.handle(request()))[2][0]["n"] for _ in range(3)]
        runner.close()
        assert counts == [1, 2, 3]


def test_runners_given_connections_share_them(tmp_path: Path, store: SessionStore) -> None:
    """serve shares one set between the workflows a reload loads; the runners never close it."""
    root = workflow_at(tmp_path, HITS, IN_MEMORY)
    connections = Connections()
    counts = []
    for _ in range(2):  # a workflow loaded again (a reload) on the same connections
        workflow = load_workflow(root)
        runner = Runner(workflow, workflow.engine, store, connections=connections)
        counts += [data(runner.handle(request()))[2][0]["n"] for _ in range(2)]
        runner.close()
    assert counts == [1, 2, 3, 4]
    connections.close()
    runner = Runner(workflow, workflow.engine, store, connections=connections)
    assert data(runner.handle(request()))[2][0]["n"] == 1  # disposed: a new database


def test_executors_inline_and_per_item(tmp_path: Path, store: SessionStore) -> None:
    resources = """\
    actionId: main
    items: [a, b]
    before:
      - exec: {command: "printf '%s!' {{ get('current') }}"}
      - set('shouted', get('_output').stdout)
    python:
      script: print({{ get('shouted') }} * 2)
    """
    assert data(run(tmp_path, resources, store)) == ["a!a!\n", "b!b!\n"]


# ---- failures ---------------------------------------------------------------------------------

FAILURES = [
    (
        "exec-exit",
        "exec: {command: 'echo out; echo broken >&2; exit 3'}",
        500,
        "exec failed in main: exit status 3",
    ),
    (
        "exec-timeout",
        "exec: {command: 'sleep 5', timeout: 300ms}",
        504,
        "exec failed in main: timed out after 0.3s",
    ),
    (
        "exec-bad-timeout",
        "exec: {command: 'true', timeout: \"{{ get('t') }}\"}",
        500,
        "exec failed in main: timeout 'soon' is not a duration such as 30s",
    ),
    (
        "python-exit",
        "python: {script: 'import sys; sys.exit(4)'}",
        500,
        "python failed in main: exit status 4",
    ),
    (
        "sql-refused",
        "sql: {connectionName: db, query: SELEC 1}",
        500,
        'sql failed in main: query failed: near "SELEC": syntax error',
    ),
    (
        "sql-unknown-connection",
        "sql: {connectionName: \"{{ get('db') }}\", query: SELECT 1}",
        500,
        "sql failed in main: unknown connection 'nope' (settings.sqlConnections: db)",
    ),
    (
        "http-bad-attempts",
        "httpClient: {url: 'http://127.0.0.1:9/', retry: {maxAttempts: \"{{ get('t') }}\"}}",
        500,
        "httpClient failed in main: retry.maxAttempts must be a whole number of at least 1, "
        "not 'soon'",
    ),
]


@pytest.mark.parametrize(
    ("block", "status", "message"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
def test_failures_name_the_resource(
    tmp_path: Path,
    store: SessionStore,
    caplog: pytest.LogCaptureFixture,
    block: str,
    status: int,
    message: str,
) -> None:
    response = run(tmp_path, f"actionId: main\n{block}\n", store, query={"t": "soon", "db": "nope"})
    assert error(response) == (status, f"{message} (request r1)")
    logged = [r.getMessage() for r in caplog.records if r.name == "kdeps_expr.runner"]
    assert logged[-1].startswith(f"{message} (request r1)")


def test_a_failure_is_logged_in_full(
    tmp_path: Path, store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "kdeps_expr.runner")
    response = run(tmp_path, "actionId: main\n" + FAILURES[0][1] + "\n", store)
    assert response.body["error"] == {
        "code": 500,
        "message": "exec failed in main: exit status 3 (request r1)",
    }
    assert caplog.records[-1].getMessage() == (
        "exec failed in main: exit status 3 (request r1)\nstderr:\nbroken"
    )


def test_http_failures_answer_502_and_504(
    tmp_path: Path, store: SessionStore, upstream: Upstream
) -> None:
    port = free_port()
    refused = f"actionId: main\nhttpClient: {{url: 'http://127.0.0.1:{port}/x?key=secret'}}\n"
    assert error(run(tmp_path, refused, store)) == (
        502,
        f"httpClient failed in main: GET http://127.0.0.1:{port}/x: cannot connect: "
        "[Errno 111] Connection refused (request r1)",
    )
    url = upstream.url("/slow?delay=2")
    slow = f"actionId: main\nhttpClient: {{url: '{url}', timeout: 200ms}}\n"
    assert error(run(tmp_path / "slow", slow, store)) == (
        504,
        f"httpClient failed in main: GET {upstream.url('/slow')}: timed out after 0.2s "
        "(request r1)",
    )


@pytest.mark.parametrize("backend_name", SHARED_BACKENDS)
def test_a_failed_executor_leaves_the_session_byte_for_byte(
    tmp_path: Path, backend_name: str
) -> None:
    resources = """\
    actionId: main
    before:
      - set('visits', get('visits', 'session') + 1, 'session')
      - set('note', get('note'), 'session')
    exec:
      command: test "{{ get('fail') }}" != yes
    apiResponse:
      response: session()
    """
    with open_backend(backend_name, tmp_path / "store") as backend:
        store = backend.make()
        workflow = load_workflow(workflow_at(tmp_path / "wf", resources))
        runner = Runner(workflow, workflow.engine, store)
        try:
            first = runner.handle(request(query={"note": "kept"}))
            assert data(first) == {"visits": 1, "note": "kept"}
            session_id = first.session_id
            assert session_id is not None
            before = backend.raw(store, session_id)
            assert before
            failed = runner.handle(request(query={"note": "lost", "fail": "yes"}), None, session_id)
            assert error(failed) == (500, "exec failed in main: exit status 1 (request r1)")
            assert backend.raw(store, session_id) == before
            again = runner.handle(request(query={"note": "new"}), None, session_id)
            assert data(again) == {"visits": 2, "note": "new"}
        finally:
            runner.close()


# ---- onError ----------------------------------------------------------------------------------


def test_on_error_continue_keeps_the_failed_output_beside_kdeps_map(
    tmp_path: Path, store: SessionStore
) -> None:
    resources = """\
    actionId: build
    exec:
      command: echo partial; echo 'no compiler' >&2; exit 2
    onError:
      action: continue
      expr:
        - set('why', error)
    ---
    actionId: main
    requires: [build]
    apiResponse:
      response:
        handled: get('build')._error
        exitCode: exec.exitCode('build')
        stderr: exec.stderr('build')
        stdout: get('build').stdout
        why: get('why')
    """
    answer = data(run(tmp_path, resources, store))
    failed = {
        "success": False,
        "exitCode": 2,
        "stdout": "partial\n",
        "stderr": "no compiler\n",
        "command": "echo partial; echo 'no compiler' >&2; exit 2",
        "error": "exit status 2",
        "timedOut": False,
    }
    assert answer == {
        "handled": {"message": "exec failed in build: exit status 2", "handled": True},
        "exitCode": 2,
        "stderr": "no compiler\n",
        "stdout": "partial\n",
        "why": {
            "message": "exec failed in build: exit status 2",
            "type": "execution_error",
            "code": "execution_error",
            "statusCode": 500,
            "details": failed,
        },
    }


def test_on_error_when_tells_a_timeout(tmp_path: Path, store: SessionStore) -> None:
    resources = """\
    actionId: main
    exec:
      command: sleep 2
      timeout: 100ms
    onError:
      action: continue
      when:
        - error.type == 'TIMEOUT' && error.statusCode == 504
      fallback:
        late: true
        message: "{{ error.message }}"
    """
    assert data(run(tmp_path, resources, store)) == {
        "late": True,
        "message": "exec failed in main: timed out after 0.1s",
    }
