"""One request's state: the request itself, request memory, resource outputs, the session.

A :class:`Context` is made per request and never shared between requests; the Engine and
compiled expressions hold no per-call state, so one Engine serves many threads.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..sessions.state import SessionState
from . import values

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_latest_stamp: tuple[int, str] = (0, "")
"""The second :func:`utc_timestamp` last formatted, and its text: requests of one second
share it instead of formatting it again."""


def utc_timestamp(moment: datetime | None = None) -> str:
    """UTC RFC 3339 with seconds and ``Z``: ``2026-11-25T17:14:03Z`` (default: now)."""
    global _latest_stamp
    if moment is not None:
        return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)
    second = int(time.time())
    if second != _latest_stamp[0]:
        _latest_stamp = (second, time.strftime(_TIMESTAMP_FORMAT, time.gmtime(second)))
    return _latest_stamp[1]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_INT_DIGITS = 20
"""No integer of 64 bits has more digits than this (a sign aside)."""


def _shown_number(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}…{text[-6:]} ({len(text)} characters)"


def _parse_int(text: str) -> int:
    """A JSON integer, refused when it does not fit in 64 bits (SPEC §1)."""
    if len(text.lstrip("-")) <= _INT_DIGITS:
        value = int(text)
        if -(1 << values.INT_BITS) <= value < (1 << values.INT_BITS):
            return value
    raise ValueError(f"integer out of range: {_shown_number(text)} does not fit in 64 bits")


def _parse_float(text: str) -> float:
    """A JSON number with a fraction or exponent, refused when it overflows to infinity."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {_shown_number(text)} is beyond a float")
    return value


_REQUEST_JSON = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float
)


def request_json(data: str | bytes) -> Any:
    """JSON as a client may send it, refused with ``ValueError`` when a kdeps value cannot
    carry it (SPEC §6): text that is not Unicode (invalid UTF-8, a lone surrogate in raw bytes
    or in a ``\\u`` escape), ``NaN``/``Infinity``, a number that overflows to infinity, an
    integer beyond 64 bits. Bytes are read as ``json.loads`` reads them: UTF-8, or UTF-16/32
    by their first bytes, strictly."""
    if isinstance(data, str):
        text = data
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"not valid UTF-8 at character {exc.start}") from None
    else:
        encoding = json.detect_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            name = "UTF-" + encoding.split("-")[1]
            raise ValueError(f"not valid {name} at byte {exc.start}") from None
    value = _REQUEST_JSON.decode(text)
    if "\\u" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ValueError("a \\u escape is half of a surrogate pair, not a character") from None
    return value


def _lower_keys(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {str(name).lower(): value for name, value in headers.items()}


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file of a ``multipart/form-data`` request, as the server stored it.

    ``path`` is where its bytes were written (``file()``, ``get(name, 'filepath')``);
    ``field`` is the form field it came in.
    """

    field: str
    filename: str
    content_type: str
    size: int
    path: str


@dataclass
class Request:
    """What a client sent: method, path, query parameters, a parsed body, headers, files.

    ``body`` is the parsed JSON (or form) body; only a map body has fields for ``get``.
    Header names are matched case-insensitively. ``files`` are the uploaded files of a
    multipart request, in the order they came.
    """

    method: str = "GET"
    path: str = "/"
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    ip: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp: str = field(default_factory=utc_timestamp)
    files: tuple[UploadedFile, ...] = ()

    def __post_init__(self) -> None:
        self.headers = _lower_keys(self.headers)


@dataclass(frozen=True)
class WorkflowInfo:
    """What ``info('workflow.name')``, ``info('workflow.version')`` and the rest answer."""

    name: str = ""
    version: str = ""
    description: str = ""


@dataclass
class ItemFrame:
    """One iteration of a resource's ``items`` (SPEC §10): every item and where we are.

    The language reads it for ``item.current()``, ``prev()``, ``next()``, ``index()``,
    ``count()``, ``values()``, ``get(k, 'item')`` and the unqualified ``get('current')``.
    """

    items: list[Any]
    index: int


@dataclass
class LoopFrame:
    """One iteration of a resource's ``loop`` (SPEC §10).

    ``index`` counts from 0; ``results`` are the outputs of the iterations before this
    one (``loop.results()``); ``scope`` is what ``set(k, v, 'loop')`` wrote.
    """

    index: int
    results: list[Any] = field(default_factory=list)
    scope: dict[str, Any] = field(default_factory=dict)


class Context:
    """Everything one evaluation can see and change.

    ``outputs`` maps actionIds to resource outputs; ``action_ids`` are the reserved names of
    the workflow's resources (``get(actionId)`` answers only from ``outputs``).
    ``action_id`` is the resource running now, for ``info('actionId')``. ``element`` is
    the item a predicate (``filter(xs, .price > 1)``) is looking at, for ``#`` and ``.name``;
    ``deadline`` is when the predicate call running now must end (0 outside predicates).
    ``item`` and ``loop`` are the iteration the running resource is in (``None`` outside
    ``items`` and ``loop``). The rest is the state of the evaluation running now:
    ``position`` is ``#index`` and ``accumulator`` ``#acc`` of the predicate call running,
    ``variables`` hold the values of ``let`` names, ``spent`` counts the items and
    characters this evaluation built (its budget, SPEC §9).
    """

    __slots__ = (
        "accumulator",
        "action_id",
        "action_ids",
        "deadline",
        "element",
        "item",
        "loop",
        "memory",
        "outputs",
        "position",
        "request",
        "session",
        "spent",
        "variables",
        "workflow",
    )

    def __init__(
        self,
        request: Request | None = None,
        *,
        session: SessionState | None = None,
        memory: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        action_ids: frozenset[str] = frozenset(),
        action_id: str = "",
        workflow: WorkflowInfo | None = None,
        item: ItemFrame | None = None,
        loop: LoopFrame | None = None,
    ) -> None:
        self.request = request or Request()
        self.session = session if session is not None else SessionState()
        self.memory: dict[str, Any] = memory if memory is not None else {}
        self.outputs: dict[str, Any] = outputs if outputs is not None else {}
        self.action_ids = action_ids
        self.action_id = action_id
        self.workflow = workflow or WorkflowInfo()
        self.item = item
        self.loop = loop
        self.element: Any = None
        self.deadline = 0.0
        self.position = 0
        self.accumulator: Any = None
        self.variables: dict[object, Any] = {}
        self.spent = 0
