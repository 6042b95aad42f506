"""Executors under ``kdeps-expr serve``: a real server process, real HTTP, a real child process.

A 2 s ``exec`` runs on one of the server's worker threads; the event loop and the other
workers keep answering other requests meanwhile, and the slow request gets its answer.
"""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import httpx
from _server import Server

WORKFLOW = """\
metadata: {name: slow, version: "1", targetActionId: fast}
settings:
  apiServer:
    routes:
      - {path: /slow, methods: [GET], actionId: slow}
      - {path: /fast, methods: [GET], actionId: fast}
"""
RESOURCES = """\
actionId: slow
exec:
  command: sleep 2; printf done
  timeout: 10s
apiResponse:
  response: exec.stdout('slow')
---
actionId: fast
apiResponse:
  response: "{{ info('requestId') }}"
"""


def test_other_requests_are_answered_while_a_2s_exec_runs(tmp_path: Path) -> None:
    root = tmp_path / "slow"
    (root / "resources").mkdir(parents=True)
    (root / "workflow.yaml").write_text(textwrap.dedent(WORKFLOW))
    (root / "resources" / "all.yaml").write_text(textwrap.dedent(RESOURCES))
    with Server(root, tmp_path / "serve.log") as server, server.client() as client:
        slow: dict[str, object] = {}

        def call_slow() -> None:
            started = time.monotonic()
            response = httpx.get(f"{server.url}/slow", timeout=20.0)
            slow.update(status=response.status_code, body=response.json(), started=started)
            slow["ended"] = time.monotonic()

        caller = threading.Thread(target=call_slow)
        caller.start()
        time.sleep(0.3)  # the exec has started: its request is on a worker thread
        answered: list[float] = []
        while caller.is_alive() and len(answered) < 1000:
            response = client.get("/fast")
            assert response.status_code == 200, response.text
            assert response.json()["data"] == response.headers["x-request-id"]
            answered.append(time.monotonic())
        caller.join(20.0)
    assert slow["status"] == 200
    assert slow["body"]["data"] == "done"  # type: ignore[index]
    ended = slow["ended"]
    assert isinstance(ended, float)
    assert ended - slow["started"] >= 2.0  # type: ignore[operator]
    during = [moment for moment in answered if moment < ended]
    print(f"{len(during)} requests answered during the 2 s exec")
    assert len(during) >= 10, f"only {len(during)} requests answered during the exec"


COUNTER = """\
metadata: {name: counter, version: "1", targetActionId: count}
settings:
  apiServer:
    routes:
      - {path: /count, methods: [GET]}
  sqlConnections:
    db: {connection: "sqlite:///:memory:"}
"""
COUNT = """\
actionId: count
sql:
  connectionName: db
  queries:
    - query: CREATE TABLE IF NOT EXISTS hits (n INTEGER)
    - query: INSERT INTO hits VALUES (1)
    - query: SELECT count(*) AS n FROM hits
apiResponse:
  response: "{{ 'v1' }} {{ get('count')[2][0].n }}"
"""


def test_a_reload_keeps_the_process_pools(tmp_path: Path) -> None:
    """The in-memory database lives in the process's pool: a reloaded workflow sees it."""
    root = tmp_path / "counter"
    (root / "resources").mkdir(parents=True)
    (root / "workflow.yaml").write_text(COUNTER)
    count = root / "resources" / "count.yaml"
    count.write_text(COUNT)
    with (
        Server(root, tmp_path / "serve.log", ["--reload"]) as server,
        server.client() as client,
    ):
        assert [client.get("/count").json()["data"] for _ in range(2)] == ["v1 1", "v1 2"]
        deadline = time.monotonic() + 20.0
        while "watching" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.1)
        count.write_text(COUNT.replace("'v1'", "'v2'"))
        answers = []
        while not answers or answers[-1].startswith("v1"):
            assert time.monotonic() < deadline + 20.0, server.log_text()
            answers.append(client.get("/count").json()["data"])
            time.sleep(0.1)
    assert answers[-1] == f"v2 {len(answers) + 2}"
