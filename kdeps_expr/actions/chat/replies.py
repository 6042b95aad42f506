"""What a reply becomes: KDeps' response object, or with ``jsonResponse`` the parsed object.

A ``jsonResponse`` reply must be one JSON object. Models often wrap it in a Markdown
fence, so a reply that is exactly one fenced block (```` ```json ```` or a bare
```` ``` ````, with nothing but white space around it) is read inside its fence; JSON
anywhere else in prose is not searched for, so a chatty reply fails rather than being
half read. With ``jsonResponseKeys`` every listed key must be present, and the output
keeps just those keys, in the listed order (KDeps keeps only the listed keys too, but
silently drops missing ones; here a missing key fails the call, since every later
``get('<actionId>').key`` would read nothing).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import ChatReply
from .reading import ReplyError, excerpt, loads

_FENCE = re.compile(r"\A\s*```[ \t]*(?:json)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```\s*\Z", re.S | re.I)

_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def reply(text: str, model: str, json_response: bool, keys: tuple[str, ...] = ()) -> ChatReply:
    """The reply a model's ``text`` makes; :class:`ReplyError` when JSON was asked and
    the text does not hold the object asked for."""
    if not json_response:
        return ChatReply(text, model)
    return ChatReply(text, model, parse_object(text, keys))


def parse_object(text: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object in ``text`` (module docstring), kept to ``keys`` when given."""
    fenced = _FENCE.match(text)
    source = fenced.group(1) if fenced else text
    try:
        value = loads(source)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at {exc.lineno}:{exc.colno}"
        raise ReplyError(
            f"jsonResponse: the reply is not JSON ({where}): {excerpt(text)}"
        ) from None
    except ValueError as exc:
        raise ReplyError(f"jsonResponse: the reply is not JSON ({exc}): {excerpt(text)}") from None
    if not isinstance(value, dict):
        kind = _KINDS.get(type(value), "null")
        raise ReplyError(f"jsonResponse: the reply is {kind}, not a JSON object: {excerpt(text)}")
    missing = [key for key in keys if key not in value]
    if missing:
        listed = ", ".join(repr(key) for key in missing)
        raise ReplyError(
            f"jsonResponse: the reply has no {listed} (jsonResponseKeys): {excerpt(text)}"
        )
    return {key: value[key] for key in keys} if keys else value


def llm_response(output: Any) -> Any:
    """KDeps' ``llm.response('<actionId>')`` over a chat resource's output; never raises.

    A text output is itself; of a map, its ``response`` text, else its
    ``message.content`` text, else its ``data``, else the map itself (a ``jsonResponse``
    object); anything else (no output yet) is ``nil``.
    """
    if isinstance(output, str):
        return output
    if not isinstance(output, dict):
        return None
    if isinstance(output.get("response"), str):
        return output["response"]
    message = output.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        return message["content"]
    return output.get("data", output)
