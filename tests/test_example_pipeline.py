"""The pipeline example end to end: its quotes API (upstream.py) and ``kdeps-expr run`` as real
processes, SQLite, Python, a shell pipeline and the echo chat backend, on a copy of the
example (its SQLite file stays out of the tree)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import EXAMPLES, environment, free_port

from kdeps_expr.cli import main

QUOTE = "Simplicity is prerequisite for reliability."


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLES / "pipeline", tmp_path / "pipeline"))


@pytest.fixture
def upstream(pipeline: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(pipeline / "upstream.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                httpx.get(f"{url}/quotes", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "upstream.py did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10.0)


def run(pipeline: Path, upstream: str, body: dict[str, Any]) -> dict[str, Any]:
    """``kdeps-expr run --json`` in a child process, with ``PIPELINE_UPSTREAM`` set."""
    env = {**environment(), "PIPELINE_UPSTREAM": upstream}
    command = [sys.executable, "-m", "kdeps_expr.cli", "run", str(pipeline), "--json"]
    done = subprocess.run(
        [*command, "--body", json.dumps(body)], capture_output=True, text=True, env=env, timeout=60
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    del answer["body"]["meta"]
    return answer


def ok(data: dict[str, Any], success: bool = True) -> dict[str, Any]:
    return {
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "body": {"success": success, "data": data},
        "sessionId": None,
    }


def quote(saved: int) -> dict[str, Any]:
    return {
        "topic": "simplicity",
        "upstream": {"status": 200, "contentType": "application/json"},
        "saved": saved,
        "words": {"count": 5, "longest": "prerequisite"},
        "author": {"shouted": "EDSGER DIJKSTRA", "exitCode": 0},
        "summary": f"EDSGER DIJKSTRA said it in 5 words: {QUOTE}",
    }


def test_the_pipeline_chains_every_action(pipeline: Path, upstream: str) -> None:
    assert run(pipeline, upstream, {"topic": "simplicity"}) == ok(quote(1))
    assert run(pipeline, upstream, {"topic": "simplicity"}) == ok(quote(2))
    assert run(pipeline, upstream, {"topic": "weather"}) == ok(
        {
            "topic": "weather",
            "upstream": {"status": 404, "contentType": "application/json"},
            "saved": None,
            "words": None,
            "author": {"shouted": "", "exitCode": 0},
            "summary": "no quote about 'weather'",
        },
        success=False,
    )


def test_the_pipeline_fails_clearly(pipeline: Path, upstream: str) -> None:
    port = free_port()
    down = run(pipeline, f"http://127.0.0.1:{port}", {"topic": "simplicity"})
    message = down["body"]["error"]["message"]
    assert (down["status"], message.rsplit(" (request ", 1)[0]) == (
        502,
        f"httpClient failed in fetch: GET http://127.0.0.1:{port}/quotes: cannot connect: "
        "[Errno 111] Connection refused",
    )
    refused = run(pipeline, upstream, {"topic": "Simplicity!"})
    assert (refused["status"], refused["body"]["error"]["message"]) == (
        400,
        "topic: must be one lower-case word",
    )


def test_the_pipeline_checks_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "pipeline")]) == 0
    assert capsys.readouterr().out == "pipeline: 6 resources, 0 errors, 0 warnings\n"
