"""Ollama's native chat API: ``POST /api/chat``, one JSON reply or a stream of JSON lines.

Options go under ``options`` with Ollama's names (``temperature``, ``top_p``, ``seed``,
``num_predict`` for maxTokens, ``num_ctx`` for contextLength, ``frequency_penalty``,
``presence_penalty``); ``jsonResponse`` sends
``"format": "json"``. ``stream`` is always sent, since Ollama streams when it is left out.
A stream is a JSON object per line, each with a piece of ``message.content``, the last
one with ``"done": true``; a line ``{"error": …}`` (sent with status 200 once the stream
has begun) or a stream that ends before ``done`` fails the call. A key, when one is set,
goes as ``Authorization: Bearer`` (Ollama's hosted API, or a proxy in front of Ollama).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .calls import ChatCall
from .reading import Completion, ReplyError, error_message, json_object, model_name

OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "max_tokens": "num_predict",
    "context_length": "num_ctx",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
"""Sampling fields → the names of Ollama's ``options``."""


class OllamaWire:
    """Request and reply of Ollama's ``/api/chat``."""

    def headers(self, call: ChatCall) -> dict[str, str]:
        return {"authorization": f"Bearer {call.api_key}"} if call.api_key else {}

    def body(self, call: ChatCall) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": call.model,
            "messages": [{"role": m.role, "content": m.content} for m in call.messages],
            "stream": call.streaming,
        }
        options = call.sampling.named(OPTIONS)
        if options:
            body["options"] = options
        if call.json_response:
            body["format"] = "json"
        return body

    def read(self, payload: Any) -> Completion:
        if not isinstance(payload, dict):
            raise ReplyError("the reply is not a JSON object")
        return Completion(_content(payload, "the reply"), model_name(payload))

    def read_stream(self, lines: Iterator[str]) -> Completion:
        parts: list[str] = []
        model = None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            chunk = json_object(line, f"line {number} of the stream")
            parts.append(_content(chunk, f"line {number} of the stream", final=chunk.get("done")))
            model = model_name(chunk) or model
            if chunk.get("done") is True:
                return Completion("".join(parts), model)
        raise ReplyError('the stream ended before its last line ("done": true)')

    def error(self, status: int, payload: Any) -> tuple[str, bool]:
        return error_message(payload), True


def _content(payload: dict[str, Any], where: str, final: Any = False) -> str:
    if "error" in payload:
        raise ReplyError(f"the server reported an error: {error_message(payload)}")
    message = payload.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if final and content is None:  # the closing line of a stream may carry no message
        return ""
    raise ReplyError(f"{where} has no message.content text")
