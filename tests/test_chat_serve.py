"""Chat from the command line and over HTTP: ``kdeps-expr run`` and ``serve`` on the chat
example against examples/fake_ollama.py, a server that keeps answering while a model
thinks, and an API key that ``run --trace`` and ``check --explain`` never show."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from _llm_server import Answer, ModelServer
from _server import ROOT, Server, environment, free_port, workflow_copy

from kdeps_expr.cli import main

STAND_IN = ROOT / "examples" / "fake_ollama.py"
KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def stand_in() -> Iterator[str]:
    """examples/fake_ollama.py running on a free port; yields ``127.0.0.1:<port>``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(STAND_IN), "--port", str(port)], stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the stand-in for Ollama did not start"
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _run(folder: Path, *options: str, ollama_host: str) -> dict[str, Any]:
    """``kdeps-expr run FOLDER OPTIONS --json`` in a child process with ``OLLAMA_HOST``."""
    command = [sys.executable, "-m", "kdeps_expr.cli", "run", str(folder), *options, "--json"]
    env = environment() | {"OLLAMA_HOST": ollama_host}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    printed: dict[str, Any] = json.loads(done.stdout)
    return printed


def test_run_asks_the_model_that_ollama_host_names(tmp_path: Path, stand_in: str) -> None:
    """The example end to end from the command line: the reply comes from the server the
    environment names, and the session carries the conversation to the next command."""
    folder = workflow_copy(tmp_path, "chat")
    first = _run(folder, "--query", "q=What is KDeps?", ollama_host=stand_in)
    assert first["body"]["data"] == {
        "answer": "(a stand-in for llama3.2, given 2 messages) You said: What is KDeps?",
        "model": "llama3.2",
        "turns": 1,
    }
    session = ["--session-id", first["sessionId"]]
    second = _run(folder, "--query", "q=Who wrote it?", *session, ollama_host=stand_in)
    assert second["body"]["data"] == {
        "answer": "(a stand-in for llama3.2, given 4 messages) You said: Who wrote it?",
        "model": "llama3.2",
        "turns": 2,
    }


def test_serve_asks_the_model_that_settings_llm_names(tmp_path: Path, stand_in: str) -> None:
    """The base URL carries a password: the server's log never shows it."""
    base = f"http://kdeps:{KEY}@{stand_in}"
    folder = workflow_copy(tmp_path, "chat", settings={"llm": {"baseUrl": base}})
    with Server(folder, tmp_path / "serve.log") as server, server.client() as client:
        asked = client.post("/api/v1/ask", json={"q": "Hello?"})
        again = client.get("/api/v1/ask", params={"q": "Still there?"})
        assert server.stop() == 0
        log = server.log_text()
    assert "Application shutdown complete." in log
    assert KEY not in log
    assert (asked.status_code, asked.json()["data"]) == (
        200,
        {
            "answer": "(a stand-in for llama3.2, given 2 messages) You said: Hello?",
            "model": "llama3.2",
            "turns": 1,
        },
    )
    assert again.json()["data"]["answer"].endswith("given 4 messages) You said: Still there?")


ASK = """\
actionId: ask
chat:
  prompt: "{{ get('q') }}"
"""


def _ask_workflow(folder: Path, url: str) -> Path:
    (folder / "resources").mkdir(parents=True)
    (folder / "workflow.yaml").write_text(
        "metadata:\n  name: ask\n  targetActionId: ask\n"
        "settings:\n"
        "  apiServer:\n    routes:\n      - path: /ask\n        methods: [GET]\n"
        f"  llm:\n    backend: ollama\n    baseUrl: {url}\n    model: m\n"
        "  session:\n    type: memory\n"
    )
    (folder / "resources" / "ask.yaml").write_text(ASK)
    return folder


def test_a_server_keeps_answering_while_one_request_waits_on_a_model(
    tmp_path: Path, model_server: ModelServer
) -> None:
    """One request's model holds its reply for 2 s; 50 other requests, chats too, all
    complete before it does."""
    model_server.text = None
    model_server.script(Answer(delay=2.0))
    folder = _ask_workflow(tmp_path / "ask", model_server.url)
    with (
        Server(folder, tmp_path / "serve.log") as server,
        server.client() as slow_client,
        server.client() as client,
        ThreadPoolExecutor(10) as pool,
    ):

        def ask(http: httpx.Client, question: str) -> tuple[str, float]:
            answer = http.get("/ask", params={"q": question})
            assert answer.status_code == 200, answer.text
            return answer.json()["data"], time.monotonic()

        started = time.monotonic()
        slow = pool.submit(ask, slow_client, "slow")
        while not model_server.received:
            assert time.monotonic() - started < 10, "the slow request never reached the model"
            time.sleep(0.01)
        others = list(pool.map(lambda n: ask(client, f"q{n}"), range(50)))
        slow_answer, slow_done = slow.result()
    assert [answer for answer, _ in others] == [f"q{n}" for n in range(50)]
    assert slow_answer == "slow"
    assert slow_done - started >= 2.0
    assert max(done for _, done in others) < slow_done


# ---- the key stays out of run --trace, check --explain and the logs ---------------------


def _keyed_workflow(folder: Path, url: str) -> Path:
    """Two chats: one reads its key from the environment, one has it written in the file."""
    (folder / "resources").mkdir(parents=True)
    (folder / "workflow.yaml").write_text(
        "metadata:\n  name: keyed\n  targetActionId: written\n"
        f"settings:\n  llm:\n    backend: openai\n    baseUrl: {url}\n    model: gpt\n"
        "  session:\n    type: memory\n"
    )
    (folder / "resources" / "chats.yaml").write_text(
        "actionId: fromEnv\n"
        "chat:\n  apiKey: \"{{ env('KDEPS_TEST_CHAT_KEY') }}\"\n  prompt: first\n"
        "---\n"
        "actionId: written\nrequires: [fromEnv]\n"
        f"chat:\n  apiKey: {KEY}\n  prompt: second\n"
    )
    return folder


def test_run_trace_and_check_explain_never_show_the_key(
    tmp_path: Path,
    model_server: ModelServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_server.api_key = KEY
    monkeypatch.setenv("KDEPS_TEST_CHAT_KEY", KEY)
    folder = _keyed_workflow(tmp_path / "keyed", model_server.url)
    assert main(["run", str(folder), "--trace", "--debug"]) == 0
    ran = capsys.readouterr()
    assert main(["check", str(folder), "--explain"]) == 0
    checked = capsys.readouterr()
    assert [sent.headers["authorization"] for sent in model_server.received] == [
        f"Bearer {KEY}"
    ] * 2
    for output in (ran.out, ran.err, checked.out, checked.err):
        assert KEY not in output
    assert "{{ env('KDEPS_TEST_CHAT_KEY') }}  =>  \"[redacted]\"" in ran.err
    assert "chats.yaml:9:11: text: '[redacted]'" in checked.out
    assert "chats.yaml:9:11: warning: chat.apiKey is written in the file" in ran.err
