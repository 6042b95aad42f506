"""A fake model server on loopback that speaks Ollama's, OpenAI's and Anthropic's chat APIs.

:class:`ModelServer` listens on ``127.0.0.1`` (a free port) in its own threads and picks
the protocol by path: ``/api/chat`` (Ollama), ``/v1/chat/completions`` or
``/chat/completions`` (OpenAI), ``/v1/messages`` (Anthropic). Every request is recorded
in ``received`` (path, lower-cased headers, JSON body), and by default answered with a
success whose text is ``server.text``: one JSON document, or, when the request asks to
stream, the protocol's stream (Ollama's JSON lines, OpenAI's and Anthropic's server-sent
events) cut into small pieces, each flushed. ``script(...)`` queues :class:`Answer`s for
the next requests (errors, stalls, broken or malformed replies); when the queue is empty
the default applies again.

Like the real APIs, it refuses what they refuse: a wrong or missing key when
``api_key`` is set (OpenAI's 401 quotes the key it got, as OpenAI's does, so tests can
show it is redacted), Anthropic without ``anthropic-version`` or ``max_tokens``, with a
``system`` message or an unknown top-level field, or a temperature above 1; OpenAI's JSON
mode without the word "json" in the messages; Ollama without a model.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

OLLAMA = "/api/chat"
OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"

_ANTHROPIC_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "tools",
        "tool_choice",
    }
)


@dataclass(frozen=True)
class Received:
    """One request as the server got it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    peer: int
    """The client's port: one per connection, so reused connections share it."""


@dataclass(frozen=True)
class Answer:
    """A scripted answer: a status, a body (JSON value or raw bytes) and headers.

    ``body=None`` with status 200 is the protocol's success (``text``, or the server's);
    ``chunks`` is a raw streamed body sent piece by piece; ``delay`` waits before
    answering and ``pause`` between the pieces of a stream; ``drop`` closes the
    connection without answering.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    text: str | None = None
    chunks: Sequence[bytes] | None = None
    pause: float = 0.0
    drop: bool = False


def ollama_error(status: int, message: str) -> Answer:
    """Ollama's error answer."""
    return Answer(status, {"error": message})


def openai_error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """OpenAI's error answer."""
    kind = "rate_limit_error" if status == 429 else "invalid_request_error"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return Answer(status, {"error": error}, headers or {})


def anthropic_error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> Answer:
    """Anthropic's error answer."""
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    return Answer(status, body, headers or {})


class ModelServer:
    """The fake model server (module docstring); a context manager that starts and stops it.

    ``text=None`` replies with the last message's content; ``model`` is the model the
    replies name (default: the one asked for); ``delay`` holds every answer that long.
    """

    def __init__(
        self,
        text: str | None = "Hello from the model",
        *,
        model: str | None = None,
        api_key: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.text = text
        self.model = model
        self.api_key = api_key
        self.delay = delay
        self.received: list[Received] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.model_server = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with ``answers``, in order."""
        with self._lock:
            self._script.extend(answers)

    def next_answer(self) -> Answer | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of connections is not refused


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the tests' output stays clean
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # a client that gave up closed the socket
            super().handle()

    @property
    def fake(self) -> ModelServer:
        return self.server.model_server  # type: ignore[attr-defined,no-any-return]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.fake.record(Received("POST", self.path, headers, body, self.client_address[1]))
        answer = self.fake.next_answer() or Answer()
        if self.fake.delay or answer.delay:
            self.fake.stopping.wait(self.fake.delay + answer.delay)
        if answer.drop:
            self.close_connection = True
            return
        protocol = _protocol(self.path)
        if protocol is None:
            self._send(404, {"error": f"no route {self.path}"})
            return
        if answer.status != 200 or answer.body is not None:
            self._send(answer.status, answer.body, answer.headers)
            return
        refusal = _refusal(protocol, headers, body, self.fake.api_key)
        if refusal is not None:
            self._send(refusal.status, refusal.body, refusal.headers)
            return
        if answer.chunks is not None:
            self._stream(list(answer.chunks), "application/octet-stream", answer.pause)
            return
        text = answer.text if answer.text is not None else self.fake.text
        if text is None:
            text = str(body.get("messages", [{}])[-1].get("content", ""))
        model = self.fake.model or str(body.get("model", ""))
        stream = bool(body.get("stream", protocol == OLLAMA))  # Ollama streams by default
        if stream:
            kind = "application/x-ndjson" if protocol == OLLAMA else "text/event-stream"
            self._stream(list(_STREAMS[protocol](text, model)), kind, answer.pause)
        else:
            self._send(200, _REPLIES[protocol](text, model))

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, pieces: list[bytes], kind: str, pause: float = 0.0) -> None:
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if pause and self.fake.stopping.wait(pause):
                break
        self.wfile.write(b"0\r\n\r\n")


def _protocol(path: str) -> str | None:
    path = path.partition("?")[0]
    if path.endswith(OLLAMA):
        return OLLAMA
    if path.endswith("/chat/completions"):
        return OPENAI
    if path.endswith(ANTHROPIC):
        return ANTHROPIC
    return None


def _refusal(protocol: str, headers: dict[str, str], body: Any, key: str | None) -> Answer | None:
    """The error the real API answers to this request, or ``None``."""
    if not isinstance(body, dict):
        return Answer(400, {"error": "the body is not a JSON object"})
    if protocol == OLLAMA:
        return None if body.get("model") else ollama_error(400, "model is required")
    if protocol == OPENAI:
        given = headers.get("authorization", "").removeprefix("Bearer ")
        if key is not None and given != key:
            return openai_error(401, f"Incorrect API key provided: {given}.", "invalid_api_key")
        words = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        if body.get("response_format", {}).get("type") == "json_object" and (
            "json" not in words.lower()
        ):
            return openai_error(400, "'messages' must contain the word 'json' in some form")
        return None
    if key is not None and headers.get("x-api-key") != key:
        return anthropic_error(401, "authentication_error", "invalid x-api-key")
    if "anthropic-version" not in headers:
        return anthropic_error(400, "invalid_request_error", "anthropic-version header is required")
    extra = sorted(set(body) - _ANTHROPIC_FIELDS)
    if extra:
        return anthropic_error(
            400, "invalid_request_error", f"{extra[0]}: Extra inputs are not permitted"
        )
    if "max_tokens" not in body:
        return anthropic_error(400, "invalid_request_error", "max_tokens: Field required")
    roles = {message.get("role") for message in body.get("messages", [])}
    if not roles or not roles <= {"user", "assistant"}:
        return anthropic_error(400, "invalid_request_error", f"messages: unexpected roles {roles}")
    if body.get("temperature", 0) > 1:
        return anthropic_error(400, "invalid_request_error", "temperature: must be at most 1")
    return None


def pieces(text: str, size: int = 4) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (at least one piece)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _ollama_reply(text: str, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1000,
        "eval_count": len(text),
    }


def _ollama_stream(text: str, model: str) -> Iterator[bytes]:
    for piece in pieces(text):
        line = {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
        yield json.dumps(line).encode() + b"\n"
    last = _ollama_reply("", model)
    yield json.dumps(last).encode() + b"\n"


def _openai_reply(text: str, model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _openai_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _openai_stream(text: str, model: str) -> Iterator[bytes]:
    yield b": keep-alive\n\n"
    yield _openai_chunk(model, {"role": "assistant", "content": ""})
    for piece in pieces(text):
        yield _openai_chunk(model, {"content": piece})
    yield _openai_chunk(model, {}, "stop")
    yield b"data: [DONE]\n\n"


def _anthropic_reply(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event named ``event``."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_stream(text: str, model: str) -> Iterator[bytes]:
    start = _anthropic_reply("", model) | {"content": []}
    yield sse("message_start", {"type": "message_start", "message": start})
    block = {"type": "text", "text": ""}
    yield sse(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    )
    yield sse("ping", {"type": "ping"})
    for piece in pieces(text):
        delta = {"type": "text_delta", "text": piece}
        yield sse(
            "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        )
    yield sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    stop = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 1},
    }
    yield sse("message_delta", stop)
    yield sse("message_stop", {"type": "message_stop"})


_REPLIES = {OLLAMA: _ollama_reply, OPENAI: _openai_reply, ANTHROPIC: _anthropic_reply}
_STREAMS = {OLLAMA: _ollama_stream, OPENAI: _openai_stream, ANTHROPIC: _anthropic_stream}
