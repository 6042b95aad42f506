"""Chat client overhead: ChatService against bare httpx, on the same local model server.

One run prints one table. A small model server (asyncio, HTTP/1.1 keep-alive) runs in a
separate process and answers each protocol's chat path after ``--delay`` (1 ms by
default: a model that answers at once), with the same reply the real APIs send: one JSON
document, or the protocol's stream (Ollama's JSON lines, OpenAI's and Anthropic's
server-sent events, eight pieces). Where the machine has two or more cores the server
is pinned to CPU 0 and this process to CPU 1.

Each row calls the server ``--calls`` times, one call after another, two ways:

- ``bare``: one ``httpx.Client`` kept open, the request body written by hand, ``post``
  then ``json()`` and the reply text picked out (for a stream: ``stream`` +
  ``iter_lines`` + one ``json.loads`` per piece, joined): the least a caller can do;
- ``kdeps``: ``ChatService.send`` with a ``ChatRequest`` naming the backend, model and
  base URL: defaults resolved, messages built, body encoded, deadline and retries
  armed, the reply read and checked, KDeps' response object built;
- in the ``runner`` rows, ``kdeps`` is a whole request through the workflow runner
  instead: ``Runner.handle`` of a chat target (``prompt: "{{ get('q') }}"``, the backend,
  model and base URL from ``settings.llm``, a memory session store, the runner's
  ChatService made from them), so the request's context, the chat block rendered into
  its request, the output stored and the answer built all count.

The two are called in turn, call after call, and the rows run in ``--rounds``
interleaved rounds; each column shows the median of the per-round medians, so a
neighbour's load on a shared machine hits both alike. The CPU columns (this process's
CPU time per call) show the client's own cost, which a busy machine disturbs least. Target:
``kdeps`` within 10% of ``bare`` at a 1 ms reply.

Usage::

    .venv/bin/python -m benchmarks.bench_chat [--delay 1] [--calls 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from kdeps_expr.actions.chat import ChatRequest, ChatService
from kdeps_expr.language.context import Request
from kdeps_expr.sessions import MemoryStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.runner import Runner

TEXT = "The quick brown fox jumps over the lazy dog, twice over."
MODEL = "bench-model"
PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
ROWS = [
    ("ollama", False),
    ("ollama", True),
    ("openai", False),
    ("openai", True),
    ("anthropic", False),
    ("anthropic", True),
]
RUNNER_ROWS = [("ollama", False), ("openai", False)]


# ---------------------------------------------------------------- the model server


def _pieces(text: str, count: int = 8) -> list[str]:
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _whole(path: str) -> bytes:
    if path == PATHS["ollama"]:
        reply: dict[str, Any] = {
            "model": MODEL,
            "message": {"role": "assistant", "content": TEXT},
            "done": True,
        }
    elif path == PATHS["openai"]:
        message = {"role": "assistant", "content": TEXT}
        reply = {"model": MODEL, "choices": [{"index": 0, "message": message}]}
    else:
        reply = {"type": "message", "model": MODEL, "content": [{"type": "text", "text": TEXT}]}
    return json.dumps(reply).encode()


def _streamed(path: str) -> bytes:
    pieces = _pieces(TEXT)
    if path == PATHS["ollama"]:
        lines = [{"model": MODEL, "message": {"content": p}, "done": False} for p in pieces]
        lines.append({"model": MODEL, "message": {"content": ""}, "done": True})
        return b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    if path == PATHS["openai"]:
        chunks = [{"model": MODEL, "choices": [{"delta": {"content": p}}]} for p in pieces]
        events = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
        return b"".join(events) + b"data: [DONE]\n\n"
    events = [("message_start", {"type": "message_start", "message": {"model": MODEL}})]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        events.append(("content_block_delta", {"type": "content_block_delta", "delta": delta}))
    events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {e}\ndata: {json.dumps(d)}\n\n".encode() for e, d in events)


async def _serve(port_file: str, delay: float) -> None:
    replies = {
        (path, stream): (_streamed if stream else _whole)(path)
        for path in PATHS.values()
        for stream in (False, True)
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.lower().startswith("content-length:")
                )
                body = json.loads(await reader.readexactly(length))
                if delay:
                    await asyncio.sleep(delay)
                data = replies[(path, bool(body.get("stream")))]
                kind = b"text/event-stream" if body.get("stream") else b"application/json"
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                    % (kind, len(data), data)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=128)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


@contextmanager
def model_server(delay_ms: float) -> Iterator[str]:
    """A model server process answering after ``delay_ms``; yields its base URL."""
    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        code = (
            "import asyncio; from benchmarks.bench_chat import _serve; "
            f"asyncio.run(_serve({str(port_file)!r}, {delay_ms / 1000!r}))"
        )
        process = subprocess.Popen([sys.executable, "-c", code])
        try:
            if _cores() >= 2:
                os.sched_setaffinity(process.pid, {0})
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text()}"
        finally:
            process.terminate()
            process.wait()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


# ---------------------------------------------------------------- the two callers


def bare_call(client: httpx.Client, base: str, backend: str, stream: bool) -> Callable[[], str]:
    """The least a caller can do with httpx for one chat call of ``backend``."""
    url = base + PATHS[backend]
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say something."}],
        "stream": stream,
    }
    headers = {}
    if backend == "anthropic":
        body["max_tokens"] = 1024
        headers = {"anthropic-version": "2023-06-01", "x-api-key": "k"}

    def whole() -> str:
        reply = client.post(url, json=body, headers=headers).json()
        if backend == "ollama":
            return str(reply["message"]["content"])
        if backend == "openai":
            return str(reply["choices"][0]["message"]["content"])
        return "".join(block["text"] for block in reply["content"])

    def streamed() -> str:
        parts = []
        with client.stream("POST", url, json=body, headers=headers) as response:
            for line in response.iter_lines():
                if backend == "ollama":
                    parts.append(json.loads(line)["message"]["content"])
                elif line.startswith("data: ") and line != "data: [DONE]":
                    chunk = json.loads(line[6:])
                    if backend == "openai":
                        parts.append(chunk["choices"][0]["delta"].get("content") or "")
                    elif chunk["type"] == "content_block_delta":
                        parts.append(chunk["delta"]["text"])
        return "".join(parts)

    return streamed if stream else whole


def kdeps_call(service: ChatService, base: str, backend: str, stream: bool) -> Callable[[], str]:
    """One ``ChatService.send`` of ``backend``."""
    api_key = "k" if backend == "anthropic" else None
    request = ChatRequest(
        "Say something.",
        "bench",
        model=MODEL,
        backend=backend,
        base_url=base,
        api_key=api_key,
        streaming=stream,
    )

    def call() -> str:
        return str(service.send(request).text)

    return call


def runner_call(
    stack: ExitStack, folder: Path, base: str, backend: str, stream: bool
) -> Callable[[], str]:
    """One request through the runner: a workflow whose target is a chat of ``backend``,
    with the runner's own ChatService (made from settings.llm, closed by ``stack``)."""
    key = "\n    apiKey: k" if backend == "anthropic" else ""
    root = folder / f"{backend}-{'stream' if stream else 'json'}"
    (root / "resources").mkdir(parents=True)
    (root / "workflow.yaml").write_text(
        "metadata:\n  name: bench\n  targetActionId: ask\n"
        f"settings:\n  session:\n    type: memory\n  llm:\n    backend: {backend}\n"
        f"    baseUrl: {base}\n    model: {MODEL}\n    streaming: {str(stream).lower()}{key}\n"
    )
    (root / "resources" / "ask.yaml").write_text(
        "actionId: ask\nchat:\n  prompt: \"{{ get('q') }}\"\n"
    )
    workflow = load_workflow(root)
    chat = stack.enter_context(ChatService(workflow.llm_settings, environ={}))
    runner = Runner(workflow, workflow.engine, MemoryStore(60.0), chat=chat)
    query = {"q": "Say something."}

    def call() -> str:
        return str(runner.handle(Request(query=query)).body["data"])

    return call


def paired(
    bare: Callable[[], str], kdeps: Callable[[], str], count: int
) -> tuple[float, float, float, float]:
    """Medians of wall time and means of this process's CPU time per call, in µs, for
    ``bare`` and ``kdeps`` called in turn, so both meet the same load."""
    wall: tuple[list[int], list[int]] = ([], [])
    cpu = [0, 0]
    for _ in range(count):
        for side, call in enumerate((bare, kdeps)):
            start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
            text = call()
            cpu[side] += time.process_time_ns() - start_cpu
            wall[side].append(time.perf_counter_ns() - start)
            assert text == TEXT, text
    return (
        statistics.median(wall[0]) / 1000,
        cpu[0] / count / 1000,
        statistics.median(wall[1]) / 1000,
        cpu[1] / count / 1000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=1.0, help="the model's delay, in ms")
    parser.add_argument("--calls", type=int, default=400, help="timed calls per row and round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    if _cores() >= 2:
        os.sched_setaffinity(0, {1})

    with (
        model_server(args.delay) as base,
        httpx.Client() as client,
        ChatService(environ={}) as service,
        tempfile.TemporaryDirectory() as folder,
        ExitStack() as stack,
    ):
        callers = {
            f"{backend} {'stream' if stream else 'json'}": (
                bare_call(client, base, backend, stream),
                kdeps_call(service, base, backend, stream),
            )
            for backend, stream in ROWS
        }
        for backend, stream in RUNNER_ROWS:
            callers[f"runner {backend} {'stream' if stream else 'json'}"] = (
                bare_call(client, base, backend, stream),
                runner_call(stack, Path(folder), base, backend, stream),
            )
        for bare, kdeps in callers.values():  # warm: connections, caches
            paired(bare, kdeps, 20)
        rounds: dict[str, list[tuple[float, ...]]] = {row: [] for row in callers}
        for _ in range(args.rounds):
            for row, (bare, kdeps) in callers.items():
                rounds[row].append(paired(bare, kdeps, args.calls))

    print(
        f"chat call overhead, model reply after {args.delay:g} ms ({args.calls} calls each, "
        f"in turn, x {args.rounds} rounds; wall: median of round medians; CPU: this process)"
    )
    print(
        f"{'backend':<21}{'bare µs':>9}{'kdeps µs':>10}{'overhead':>10}"
        f"{'bare CPU µs':>13}{'kdeps CPU µs':>14}{'CPU +µs':>9}"
    )
    for name, results in rounds.items():
        bare, bare_cpu, kdeps, kdeps_cpu = (
            statistics.median(result[column] for result in results) for column in range(4)
        )
        print(
            f"{name:<21}{bare:>9.0f}{kdeps:>10.0f}{(kdeps - bare) / bare:>10.1%}"
            f"{bare_cpu:>13.0f}{kdeps_cpu:>14.0f}{kdeps_cpu - bare_cpu:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
