"""``kdeps-expr serve --workers N``: real server processes on loopback, their workers seen
through the log (``worker 0 started (pid …)``, each line tagged with its process id).

The concurrent-cart tests run on a two-worker server too (``pair`` in
``test_server_e2e.py``); these pin what only several workers have: the refusals, the
session cleaner in one worker (its purges counted in the log), a killed worker replaced,
and no worker outliving its parent.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _server import EXAMPLES, Server, environment, workflow_copy
from _workflows import write_workflow
from test_cli import run
from test_executors_serve import RESOURCES, WORKFLOW

from kdeps_expr.server.run import workers_refusal
from kdeps_expr.workflow import load_workflow

WAIT = 20.0
WORKER_STARTED = re.compile(r"\[(\d+)\]: worker (\d+) started \(pid (\d+)\)$", re.MULTILINE)
CLEANER_STARTED = re.compile(r"\[(\d+)\]: worker 0 runs the session cleaner", re.MULTILINE)
PURGED = re.compile(r"\[(\d+)\]: deleted (\d+) expired sessions$", re.MULTILINE)
USAGE = "usage: kdeps-expr [-h] [--version] COMMAND ...\n"


def wait_for(done: Callable[[], bool], what: str, server: Server) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT:.0f}s:\n{server.log_text()}")
        time.sleep(0.05)


def workers(server: Server) -> dict[int, int]:
    """The live worker of each slot, by the log: slot -> pid."""
    return {int(slot): int(pid) for _, slot, pid in WORKER_STARTED.findall(server.log_text())}


def started(server: Server, count: int) -> dict[int, int]:
    wait_for(lambda: len(workers(server)) == count, f"{count} workers", server)
    return workers(server)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def expire(database: Path, session_id: str) -> None:
    """Store a session that expired ten seconds ago, for the cleaner to delete."""
    now = time.time()
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO sessions VALUES (?, '{}', 1, ?, ?)", (session_id, now - 60, now - 10)
        )


@pytest.mark.parametrize(
    ("example", "options", "error"),
    [
        pytest.param(
            "greetings",
            ["--workers", "2"],
            f"{USAGE}kdeps-expr: error: --workers 2: settings.session.type memory keeps "
            "sessions inside one process; use sqlite, redis or postgres, or one worker\n",
            id="memory-store",
        ),
        pytest.param(
            "cart",
            ["--workers", "3", "--reload"],
            f"{USAGE}kdeps-expr: error: --workers 3: --reload serves with one worker only\n",
            id="reload",
        ),
        *(
            pytest.param(
                "cart",
                ["--workers", text],
                "usage: kdeps-expr serve [-h] [--host HOST] [--port PORT] [--workers N]\n"
                "                        [--debug] [--access-log] [--reload] [--playground]\n"
                "                        WORKFLOW\n"
                "kdeps-expr serve: error: argument --workers: must be a whole number from 1 "
                f"up, not {text!r}\n",
                id=f"workers-{text}",
            )
            for text in ("0", "-1", "1.5", "two", "")
        ),
    ],
)
def test_refused(
    capsys: pytest.CaptureFixture[str], example: str, options: list[str], error: str
) -> None:
    arguments = ["serve", str(EXAMPLES / example), "--port", "0", *options]
    assert run(capsys, *arguments) == (2, "", error)


def test_an_in_memory_sqlite_path_refuses_workers_saying_so(tmp_path: Path) -> None:
    workflow = workflow_copy(tmp_path, "cart", session={"type": "sqlite", "path": ":memory:"})
    assert workers_refusal(2, load_workflow(workflow), reloading=False) == (
        "--workers 2: settings.session.path ':memory:' keeps sessions inside one process; "
        "use sqlite, redis or postgres, or one worker"
    )


def test_one_worker_is_the_process_itself(tmp_path: Path) -> None:
    workflow = workflow_copy(tmp_path, "cart", session={"type": "memory"})
    with Server(workflow, tmp_path / "one.log", ["--workers", "1"]) as server:
        assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
        assert server.process is not None
        pid = server.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children == []
    lines = server.log_text().splitlines()
    assert lines[0].endswith(
        f" INFO kdeps_expr.server: serving workflow shopping-cart 1.0.0 on {server.url}"
    )
    assert [line for line in lines if "worker" in line] == []


def test_both_workers_take_connections(tmp_path: Path) -> None:
    workflow = workflow_copy(tmp_path, "cart")
    with Server(workflow, tmp_path / "w.log", ["--workers", "2", "--access-log"]) as server:
        pids = set(started(server, 2).values())
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        served: set[int] = set()

        def both_served() -> bool:
            with socket.create_connection((host, int(port))) as connection:
                connection.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                while connection.recv(4096):
                    pass
            lines = re.findall(r"\[(\d+)\]: request \w+: GET /health", server.log_text())
            served.update(int(pid) for pid in lines)
            return served == pids

        wait_for(both_served, "request served by each worker", server)
        lines = server.log_text().splitlines()
    assert lines[0].endswith(f"serving workflow shopping-cart 1.0.0 with 2 workers on {server.url}")


def test_the_cleaner_runs_in_one_worker_and_a_restart_keeps_it_single(tmp_path: Path) -> None:
    session = {"type": "sqlite", "path": "sessions.db", "ttl": "24h", "cleanupInterval": "100ms"}
    workflow = workflow_copy(tmp_path, "cart", session=session)
    database = workflow / "sessions.db"

    def purges() -> list[tuple[int, int]]:
        return [(int(pid), int(count)) for pid, count in PURGED.findall(server.log_text())]

    def purged_by(pid: int, rounds: int) -> None:
        """Expire one session at a time, ``rounds`` times; each is deleted by ``pid``'s
        cleaner alone (a second cleaner would, now and then, find one first)."""
        for _ in range(rounds):
            before = len(purges())
            expire(database, f"old-{before}")
            wait_for(lambda seen=before: len(purges()) > seen, "purge", server)
            time.sleep(0.3)  # three more cleaner intervals: anyone else would log too
            assert purges()[before:] == [(pid, 1)], server.log_text()

    with Server(workflow, tmp_path / "w.log", ["--workers", "2"]) as server:
        first = started(server, 2)
        purged_by(first[0], 5)

        os.kill(first[1], signal.SIGKILL)
        wait_for(lambda: workers(server)[1] != first[1], "new worker 1", server)
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: workers(server)[0] != first[0], "new worker 0", server)
        second = workers(server)
        assert server.process is not None
        parent = server.process.pid
        assert re.findall(r"worker \d \(pid \d+\) .*$", server.log_text(), re.MULTILINE) == [
            f"worker 1 (pid {first[1]}) was killed by SIGKILL; starting a new one",
            f"worker 0 (pid {first[0]}) was killed by SIGKILL; starting a new one",
        ]
        wait_for(lambda: len(CLEANER_STARTED.findall(server.log_text())) == 2, "cleaner", server)
        purged_by(second[0], 3)
        added = httpx.post(f"{server.url}/api/v1/cart", json={"item": {"name": "pen", "price": 3}})
        assert added.status_code == 200
    assert server.process.returncode == 0
    log = server.log_text()
    assert [int(pid) for pid in CLEANER_STARTED.findall(log)] == [first[0], second[0]]
    assert {int(pid) for pid, _, _ in WORKER_STARTED.findall(log)} == {parent}
    assert not any(running(pid) for pid in (*first.values(), *second.values()))


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stopped_server_finishes_its_requests_and_leaves_no_worker(
    tmp_path: Path, number: int, status: int
) -> None:
    root = write_workflow(
        tmp_path / "slow", {"workflow.yaml": WORKFLOW, "resources/all.yaml": RESOURCES}
    )
    with Server(root, tmp_path / "w.log", ["--workers", "3"]) as server:
        pids = started(server, 3).values()
        assert all(running(pid) for pid in pids)
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(httpx.get, f"{server.url}/slow", timeout=WAIT)
            time.sleep(0.5)  # its exec (a 2 s sleep) has started
            assert server.process is not None
            server.process.send_signal(number)
            assert slow.result().json()["data"] == "done"
        assert server.process.wait(WAIT) == status
    assert not any(running(pid) for pid in pids)
    log = server.log_text()
    assert "stopping 3 workers" in log
    assert log.count("Application shutdown complete.") == 3
    assert "Traceback" not in log


def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    workflow = workflow_copy(tmp_path, "cart")
    with Server(workflow, tmp_path / "w.log", ["--workers", "2"]) as server:
        pids = started(server, 2).values()
        assert server.process is not None
        server.process.kill()
        server.process.wait(WAIT)
        wait_for(lambda: not any(running(pid) for pid in pids), "workers stopped", server)
    assert server.log_text().count("Application shutdown complete.") == 2


SUPERVISED = """
import logging, sys, time
from kdeps_expr.server.supervisor import Supervisor

def work(slot):
    if slot == 1:
        return False
    time.sleep(60)
    return True

logging.basicConfig(level=logging.INFO, format="%(message)s")
sys.exit(Supervisor(2, work).run())
"""


def test_a_worker_that_cannot_start_stops_the_others() -> None:
    """It would fail again if started again (its store, its app's startup): the
    supervisor stops the server instead of starting it in a loop."""
    done = subprocess.run(
        [sys.executable, "-c", SUPERVISED],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=environment(),
    )
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", done.stderr)]
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"worker 0 started (pid {pids[0]})\nworker 1 started (pid {pids[1]})\n"
        "worker 1 could not start: stopping the server\n",
    )
    assert not any(running(pid) for pid in pids)
