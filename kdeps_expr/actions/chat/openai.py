"""OpenAI's chat completions API, which OpenAI-compatible servers speak too.

``POST …/v1/chat/completions`` (vLLM, llama.cpp's server, LM Studio, Groq, Ollama's
``/v1``, …), with ``Authorization: Bearer <key>`` when a key is set (local servers need
none). Options keep OpenAI's names: ``temperature``, ``top_p``, ``max_tokens`` (the name
compatible servers understand), ``seed``, ``frequency_penalty``, ``presence_penalty``;
``jsonResponse`` sends ``response_format: {"type": "json_object"}``; ``contextLength``
has no equivalent and is not sent. The reply is ``choices[0].message.content``; a
streamed reply is server-sent events whose ``choices[0].delta.content`` pieces are
joined, up to ``data: [DONE]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .calls import ChatCall
from .reading import Completion, ReplyError, error_message, json_object, model_name, sse_events

OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_tokens",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
"""Sampling fields → OpenAI's names (``context_length`` has none)."""


class OpenAIWire:
    """Request and reply of ``/v1/chat/completions``."""

    def headers(self, call: ChatCall) -> dict[str, str]:
        return {"authorization": f"Bearer {call.api_key}"} if call.api_key else {}

    def body(self, call: ChatCall) -> dict[str, Any]:
        messages = []
        for message in call.messages:
            item = {"role": message.role, "content": message.content}
            if message.name:
                item["name"] = message.name
            messages.append(item)
        body: dict[str, Any] = {"model": call.model, "messages": messages, "stream": call.streaming}
        body.update(call.sampling.named(OPTIONS))
        if call.json_response:
            body["response_format"] = {"type": "json_object"}
        return body

    def read(self, payload: Any) -> Completion:
        if not isinstance(payload, dict):
            raise ReplyError("the reply is not a JSON object")
        _raise_error(payload)
        message = _choice(payload).get("message")
        if not isinstance(message, dict):
            raise ReplyError("the reply has no choices[0].message")
        content = message.get("content")
        if content is None and message.get("refusal"):
            raise ReplyError(f"the model refused: {error_message(message['refusal'])}")
        if not isinstance(content, str | None):
            raise ReplyError("the reply's choices[0].message.content is not text")
        return Completion(content or "", model_name(payload))

    def read_stream(self, lines: Iterator[str]) -> Completion:
        parts: list[str] = []
        model = None
        finished = False
        for number, (_event, data) in enumerate(sse_events(lines), 1):
            if data.strip() == "[DONE]":
                return Completion("".join(parts), model)
            chunk = json_object(data, f"event {number} of the stream")
            _raise_error(chunk)
            model = model or model_name(chunk)
            if not chunk.get("choices"):  # the usage chunk
                continue
            choice = _choice(chunk)
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                parts.append(content)
            finished = finished or bool(choice.get("finish_reason"))
        if finished:  # some servers end without [DONE]
            return Completion("".join(parts), model)
        raise ReplyError("the stream ended before data: [DONE]")

    def error(self, status: int, payload: Any) -> tuple[str, bool]:
        error = payload.get("error") if isinstance(payload, dict) else None
        spent = isinstance(error, dict) and "insufficient_quota" in (
            error.get("code"),
            error.get("type"),
        )
        return error_message(payload), not spent


def _raise_error(payload: dict[str, Any]) -> None:
    if payload.get("error"):
        raise ReplyError(f"the server reported an error: {error_message(payload)}")


def _choice(payload: dict[str, Any]) -> dict[str, Any]:
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ReplyError("the reply has no choices")
    return choices[0]
