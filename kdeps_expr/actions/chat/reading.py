"""Reading replies off the wire: server-sent events, JSON objects, the model's name."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Completion:
    """A reply read off the wire: its text, and the model the server says wrote it."""

    text: str
    model: str | None = None


class ReplyError(Exception):
    """A reply that cannot be used; the message says why ("the reply is not JSON: …")."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN`` and ``Infinity`` (they are not JSON values)."""
    return _DECODER.decode(text if isinstance(text, str) else text.decode())


def excerpt(body: bytes | str, size: int = 80) -> str:
    """``body`` as a short quoted text, for messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    return repr(text if len(text) <= size else text[:size] + "…")


def error_message(payload: Any) -> str:
    """The message in an error answer, whichever shape the server uses (shortened).

    Ollama sends ``{"error": "…"}``, OpenAI and most compatible servers ``{"error":
    {"message": "…"}}``, Anthropic ``{"type": "error", "error": {"type", "message"}}``;
    others ``{"message": …}`` or ``{"detail": …}``, or plain text.
    """
    found: Any = payload
    while isinstance(found, dict):
        inner = next((found[key] for key in ("error", "message", "detail") if found.get(key)), None)
        if inner is None:
            break
        found = inner
    text = found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)
    text = " ".join(text.split())
    return (text if len(text) <= 300 else text[:300] + "…") or "(no message)"


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` of each server-sent event in ``lines`` (WHATWG's rules).

    A blank line ends an event; ``data:`` lines join with newlines; ``event:`` names it
    (default ``message``); lines starting with ``:`` are comments (keep-alives). An event
    left open when the stream ends is still delivered.
    """
    event = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield event or "message", "\n".join(data)


def json_object(text: str, what: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object; :class:`ReplyError` naming ``what`` otherwise."""
    try:
        value = loads(text)
    except ValueError:
        raise ReplyError(f"{what} is not JSON: {excerpt(text)}") from None
    if not isinstance(value, dict):
        raise ReplyError(f"{what} is not a JSON object: {excerpt(text)}")
    return value


def model_name(payload: dict[str, Any]) -> str | None:
    """The ``model`` a reply names, when it names one."""
    model = payload.get("model")
    return model if isinstance(model, str) and model else None
