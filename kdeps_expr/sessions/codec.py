"""Session data to JSON text and back, the one encoding every store uses.

Integers stay integers and maps keep their key order (``json.dumps`` without
``sort_keys``). Only the value types of SPEC §1 can be stored: ``None``, ``bool``,
``int``, finite ``float``, ``str``, ``list`` and ``dict`` with string keys. Python's
``json`` would quietly turn an ``int`` key into a string and write ``NaN``; here both are
errors, raised before anything is written.

``msgspec`` writes and reads the text (a cart of ten items: 3 µs each way, where ``json``
took 12 to 18 µs); it cannot carry a lone surrogate (which ``'\\ud800'`` in an expression
makes), so a session holding one goes through ``json``, which writes it as a ``\\uXXXX``
escape: it still round-trips through SQLite and Redis, which both need valid UTF-8. The
value check runs first either way: ``msgspec`` would write ``NaN`` as ``null`` and an
``int`` key as a string.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

from ..errors import StoreError

_JSON_KINDS: dict[type, str] = {
    list: "list",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


_FAST_ENCODER = msgspec.json.Encoder()
_FAST_DECODER = msgspec.json.Decoder()
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


class _NotJSON(Exception):
    """A value that JSON cannot hold; ``path`` is filled in while the check unwinds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


_PLAIN = frozenset({str, int, bool, type(None)})
"""The exact types of the values that are always JSON: items of these types are passed
over without a call to :func:`_check`, the common case."""


def _check(value: object) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON(f"the float {value!r} is not a JSON number")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJSON(f"the map key {key!r} is not a string")
            if type(item) in _PLAIN:
                continue
            try:
                _check(item)
            except _NotJSON as exc:
                exc.path.append(key)
                raise
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            if type(item) in _PLAIN:
                continue
            try:
                _check(item)
            except _NotJSON as exc:
                exc.path.append(index)
                raise
        return
    raise _NotJSON(f"a value of type {type(value).__name__} is not JSON")


def _render_path(path: list[str | int]) -> str:
    parts = []
    for step in reversed(path):
        parts.append(f"[{step}]" if isinstance(step, int) else f"[{step!r}]")
    return "".join(parts)


def json_problem(value: object) -> str | None:
    """Why ``value`` cannot be stored in a session (``"at ['a'][0]: …"``), or ``None``."""
    try:
        _check(value)
    except _NotJSON as exc:
        where = _render_path(exc.path)
        return f"at {where}: {exc.reason}" if where else exc.reason
    return None


def encode(session_id: str, data: dict[str, Any]) -> str:
    """Compact JSON text of ``data``; ``StoreError`` naming the session and the bad value."""
    problem = json_problem(data)
    if problem is not None:
        raise StoreError(f"session {session_id!r} cannot be stored: {problem}")
    try:
        return _FAST_ENCODER.encode(data).decode()
    except UnicodeEncodeError:  # a lone surrogate
        return _ENCODER.encode(data)


def decode(session_id: str, text: str | bytes) -> dict[str, Any]:
    """The map stored as ``text``; ``StoreError`` naming the session when it is not one."""
    data = _read(session_id, text)
    if not isinstance(data, dict):
        kind = _JSON_KINDS.get(type(data), "value")
        raise StoreError(
            f"session {session_id!r} is unreadable: its data is a JSON {kind}, not a map"
        )
    return data


def _read(session_id: str, text: str | bytes) -> Any:
    """The JSON value ``text`` holds, read by ``msgspec``; what it refuses (a lone
    surrogate's escape, or no JSON at all) is read by ``json``, which says why."""
    try:
        return _FAST_DECODER.decode(text)
    except msgspec.DecodeError:
        pass
    try:
        return _DECODER.decode(text if isinstance(text, str) else text.decode())
    except ValueError as exc:
        raise StoreError(f"session {session_id!r} is unreadable: its data is not JSON") from exc


def key_count(session_id: str, text: str | bytes) -> int | None:
    """How many keys the stored map ``text`` has; ``None`` when it is unreadable."""
    try:
        return len(decode(session_id, text))
    except StoreError:
        return None
