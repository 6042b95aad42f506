"""End-to-end helpers: copy an example workflow, start ``kdeps-expr serve`` on a free port.

A server runs as a real process (``python -m kdeps_expr.cli serve … --port 0``); its
output goes to a log file that tests read for the listening port and for request ids.
Start-up is bounded by :data:`STARTUP_TIMEOUT`, and the process is always terminated.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "workflows"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
_LISTENING = re.compile(r"serving workflow .* on (http://\S+:\d+)$", re.MULTILINE)


def free_port() -> int:
    """A loopback port nothing listens on (for a process the test starts, or to be refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def workflow_copy(
    folder: Path,
    example: str,
    *,
    settings: Mapping[str, Any] | None = None,
    session: Mapping[str, Any] | None = None,
) -> Path:
    """A copy of ``examples/workflows/<example>``: ``settings`` merged into its own, and
    ``settings.session`` replaced by ``session`` when given."""
    target = folder / example
    shutil.copytree(EXAMPLES / example, target)
    manifest = target / "workflow.yaml"
    document = yaml.safe_load(manifest.read_text())
    document["settings"] = _merged(document.get("settings") or {}, settings or {})
    if session is not None:
        document["settings"]["session"] = dict(session)
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied; maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in changes.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            value = _merged(old, value)
        merged[key] = value
    return merged


def serve_command(workflow: Path, *options: str) -> list[str]:
    """The command line of ``kdeps-expr serve`` for ``workflow``, in this interpreter."""
    return [sys.executable, "-m", "kdeps_expr.cli", "serve", str(workflow), *options]


def environment() -> dict[str, str]:
    """This environment with the project on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Server:
    """``kdeps-expr serve`` in a child process: ``with Server(workflow, log) as server: …``."""

    def __init__(self, workflow: Path, log: Path, options: Sequence[str] = ()) -> None:
        self.command = serve_command(workflow, "--host", "127.0.0.1", "--port", "0", *options)
        self.log = log
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command, stdout=sink, stderr=subprocess.STDOUT, env=environment()
            )
        try:
            self.url = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client for this server (cookies kept, like a browser's)."""
        return httpx.Client(base_url=self.url, timeout=10.0, **options)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Send SIGTERM, wait for a graceful exit (SIGKILL past the timeout); the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def _wait_until_ready(self) -> str:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.log_text()}")
            found = _LISTENING.search(self.log_text())
            if found and _healthy(found.group(1)):
                return found.group(1)
            time.sleep(0.05)
        pytest.fail(f"server not ready within {STARTUP_TIMEOUT:.0f}s:\n{self.log_text()}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
