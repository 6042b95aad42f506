"""``serve --reload`` with a real server process: edit a resource and the answer changes;
break it and the old answer stays while the log has the error at its file:line:col."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from _server import Server
from _workflows import write_workflow

WAIT = 20.0

WORKFLOW = """\
apiVersion: kdeps.io/v1
kind: Workflow
metadata:
  name: live
  version: "1.0"
  targetActionId: hello
settings:
  apiServer:
    routes:
      - path: /hello
        methods: [GET]
  session:
    type: memory
"""

HELLO = """\
actionId: hello
apiResponse:
  response:
    text: "{{ 'v' + string(1) }} {{ get('name') }}"
"""


def _until(check: Callable[[], bool], what: str, server: Server) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {WAIT:.0f}s:\n{server.log_text()}"
        time.sleep(0.1)


def test_reload_serves_each_edit_and_keeps_the_old_workflow_on_a_broken_one(
    tmp_path: Path,
) -> None:
    root = write_workflow(
        tmp_path / "live", {"workflow.yaml": WORKFLOW, "resources/hello.yaml": HELLO}
    )
    hello = root / "resources" / "hello.yaml"
    with Server(root, tmp_path / "server.log", ["--reload"]) as server, server.client() as client:

        def answer() -> object:
            response = client.get("/hello", params={"name": "Ada"})
            return response.status_code, response.json().get("data")

        def answers(expected: object) -> Callable[[], bool]:
            return lambda: answer() == expected

        assert answer() == (200, {"text": "v1 Ada"})
        _until(lambda: "watching" in server.log_text(), "watcher", server)

        hello.write_text(HELLO.replace("string(1)", "string(2)"))
        _until(answers((200, {"text": "v2 Ada"})), "reload", server)
        assert "reloaded workflow live 1.0 (resources/hello.yaml changed)" in server.log_text()

        # a broken edit: the log has the error at its place, the old workflow still serves
        hello.write_text(HELLO.replace("string(1)", "string(3"))
        _until(lambda: "reload failed" in server.log_text(), "failed reload", server)
        log = server.log_text()
        expected = (
            "reload failed (resources/hello.yaml changed); still serving the previous workflow:\n"
            f"{root}/resources/hello.yaml:4:12: unclosed '{{{{'\n"
            """ |     text: "{{ 'v' + string(3 }} {{ get('name') }}"\n"""
            " | ...........^\n"
        )
        assert expected in log, log
        assert answer() == (200, {"text": "v2 Ada"})

        # a new route and a new resource arrive with the next good edit
        (root / "resources" / "bye.yaml").write_text(
            "actionId: bye\napiResponse:\n  response: get('name') + ' left'\n"
        )
        (root / "workflow.yaml").write_text(
            WORKFLOW.replace(
                "      - path: /hello\n",
                "      - path: /bye\n        methods: [GET]\n        actionId: bye\n"
                "      - path: /hello\n",
            )
        )
        hello.write_text(HELLO.replace("string(1)", "string(4)"))
        _until(answers((200, {"text": "v4 Ada"})), "reload after the fix", server)
        bye = client.get("/bye", params={"name": "Ada"})
        assert (bye.status_code, bye.json()["data"]) == (200, "Ada left")

        # the session store's folder is not watched: writing there reloads nothing
        reloads = server.log_text().count("reloaded workflow")
        (root / ".kdeps").mkdir(exist_ok=True)
        (root / ".kdeps" / "sessions.yaml").write_text("x: 1\n")
        (root / "notes.txt").write_text("not a workflow file\n")
        time.sleep(1.5)
        assert server.log_text().count("reloaded workflow") == reloads

        # a change the running server cannot apply is said, and the routes still reload
        (root / "workflow.yaml").write_text(WORKFLOW.replace("type: memory", "type: sqlite"))
        _until(lambda: client.get("/bye").status_code == 404, "routes reloaded", server)
        assert (
            "settings.session changed: restart the server to apply it (kept as it was)"
            in server.log_text()
        )
        assert not (root / ".kdeps" / "sessions.db").exists()
