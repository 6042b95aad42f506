"""Anthropic's Messages API: ``POST …/v1/messages``, a JSON reply or server-sent events.

Headers ``x-api-key`` and ``anthropic-version: 2023-06-01``. The API takes system text
only as the top-level ``system`` (a ``system`` message is refused), so every system
message (scenario items and the JSON instruction) is joined there, separated by blank
lines; ``messages`` keeps the user and assistant turns. ``max_tokens`` is required:
maxTokens, else :data:`DEFAULT_MAX_TOKENS`. ``temperature`` must lie from 0 to 1 here;
``top_p`` is sent; ``seed``, ``contextLength`` and the penalties have no equivalent and
are not sent;
JSON is asked for by the instruction alone (the API has no JSON mode). The reply is the
text of every ``text`` block of ``content``, joined; a stream joins the ``text_delta``
of its ``content_block_delta`` events, up to ``message_stop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .calls import ChatCall
from .options import OptionError
from .reading import Completion, ReplyError, error_message, json_object, model_name, sse_events

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
OPTIONS = {"temperature": "temperature", "top_p": "top_p"}
"""Sampling fields → Anthropic's names (``max_tokens`` is always sent, see ``body``)."""


class AnthropicWire:
    """Request and reply of ``/v1/messages``."""

    def headers(self, call: ChatCall) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if call.api_key:
            headers["x-api-key"] = call.api_key
        return headers

    def body(self, call: ChatCall) -> dict[str, Any]:
        if call.sampling.temperature is not None and call.sampling.temperature > 1:
            raise OptionError(
                "temperature",
                f"{call.sampling.temperature!r} is outside 0 to 1, the range Anthropic takes",
            )
        turns = [
            {"role": message.role, "content": message.content}
            for message in call.messages
            if message.role != "system"
        ]
        if not turns:
            raise OptionError("role", "the anthropic backend needs a user or assistant message")
        body: dict[str, Any] = {
            "model": call.model,
            "max_tokens": call.sampling.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": turns,
            "stream": call.streaming,
        }
        system = [message.content for message in call.messages if message.role == "system"]
        if system:
            body["system"] = "\n\n".join(system)
        body.update(call.sampling.named(OPTIONS))
        return body

    def read(self, payload: Any) -> Completion:
        if not isinstance(payload, dict):
            raise ReplyError("the reply is not a JSON object")
        if payload.get("type") == "error":
            raise ReplyError(f"the server reported an error: {error_message(payload)}")
        content = payload.get("content")
        if not isinstance(content, list):
            raise ReplyError("the reply has no content blocks")
        texts = [
            block.get("text")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        if not all(isinstance(text, str) for text in texts):
            raise ReplyError("a text block of the reply has no text")
        return Completion("".join(texts), model_name(payload))  # type: ignore[arg-type]

    def read_stream(self, lines: Iterator[str]) -> Completion:
        parts: list[str] = []
        model = None
        for number, (event, data) in enumerate(sse_events(lines), 1):
            chunk = json_object(data, f"event {number} of the stream")
            kind = chunk.get("type", event)
            if kind == "error":
                raise ReplyError(f"the server reported an error: {error_message(chunk)}")
            if kind == "message_start" and isinstance(chunk.get("message"), dict):
                model = model_name(chunk["message"])
            elif kind == "content_block_delta":
                delta = chunk.get("delta")
                if isinstance(delta, dict) and delta.get("type") == "text_delta":
                    text = delta.get("text")
                    if not isinstance(text, str):
                        raise ReplyError(f"event {number} of the stream has no delta text")
                    parts.append(text)
            elif kind == "message_stop":
                return Completion("".join(parts), model)
        raise ReplyError("the stream ended before its message_stop event")

    def error(self, status: int, payload: Any) -> tuple[str, bool]:
        error = payload.get("error") if isinstance(payload, dict) else None
        details = error.get("details") if isinstance(error, dict) else None
        spent = isinstance(details, dict) and (
            details.get("error_code") == "enforced_spend_limit_reached"
        )
        return error_message(payload), not spent
