"""One request's state: the request itself, request memory, resource outputs, the session.

A :class:`Context` is made per request and never shared between requests; the Engine and
compiled expressions hold no per-call state, so one Engine serves many threads.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .sessions.base import Snapshot

SESSION_ID_BYTES = 32


def new_session_id() -> str:
    """32 random bytes from ``secrets``, URL-safe base64 without padding (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SESSION_ID_BYTES)).rstrip(b"=").decode()


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


_REQUEST_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def request_json(data: str | bytes) -> Any:
    """JSON as a client may send it: ``NaN``/``Infinity`` and lone surrogates (``"\\ud800"``)
    are refused with ``ValueError``, since no expression value, store or response holds them.
    Bytes are read as ``json.loads`` reads them: UTF-8, or UTF-16/32 by their first bytes."""
    text = (
        data if isinstance(data, str) else data.decode(json.detect_encoding(data), "surrogatepass")
    )
    value = _REQUEST_JSON.decode(text)
    if ("\\u" in data) if isinstance(data, str) else (b"\\u" in data):
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ValueError("a \\u escape is half of a surrogate pair, not a character") from None
    return value


def _lower_keys(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {str(name).lower(): value for name, value in headers.items()}


@dataclass
class Request:
    """What a client sent: method, path, query parameters, a parsed body and headers.

    ``body`` is the parsed JSON (or form) body; only a map body has fields for ``get``.
    Header names are matched case-insensitively.
    """

    method: str = "GET"
    path: str = "/"
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    ip: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp: str = field(default_factory=utc_timestamp)

    def __post_init__(self) -> None:
        self.headers = _lower_keys(self.headers)


SessionLoader = Callable[[], Snapshot | None]


class SessionState:
    """One request's view of its session: loaded at most once, written at most once.

    Nothing touches the store until an expression reads the session or its id. An id the
    store does not know is never adopted: the request gets a fresh one. ``changed`` and
    ``id_used`` tell the caller whether to save, touch, or leave the store alone.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        *,
        load: SessionLoader | None = None,
        new_id: Callable[[], str] = new_session_id,
    ) -> None:
        self._requested_id = session_id
        self._load = load
        self._new_id = new_id
        self._id: str | None = None
        self._data: dict[str, Any] | None = None
        self.version = 0
        self.expires_at = 0.0
        self.changed = False
        self.id_used = False
        if data is not None or load is None:
            self._data = dict(data or {})
            self._id = session_id

    def _ensure_loaded(self) -> dict[str, Any]:
        if self._data is None:
            snapshot = None
            if self._requested_id is not None and self._load is not None:
                snapshot = self._load()
            if snapshot is None:
                self._data = {}
            else:
                self._data = dict(snapshot.data)
                self.version = snapshot.version
                self.expires_at = snapshot.expires_at
                self._id = self._requested_id
        return self._data

    @property
    def loaded(self) -> bool:
        """True once the session was read from the store (or created)."""
        return self._data is not None

    @property
    def data(self) -> dict[str, Any]:
        """The whole session; loads it on first use."""
        data = self._data
        return data if data is not None else self._ensure_loaded()

    @property
    def id(self) -> str:
        """The session's id, a fresh one when the request brought none that is live."""
        self._ensure_loaded()
        self.id_used = True
        if self._id is None:
            self._id = self._new_id()
        return self._id

    @property
    def existing_id(self) -> str | None:
        """The id without marking it used: ``None`` when the session is new or unloaded."""
        return self._id

    def get(self, key: str) -> Any:
        return self._ensure_loaded().get(key)

    def has(self, key: str) -> bool:
        return key in self._ensure_loaded()

    def set(self, key: str, value: Any) -> None:
        self._ensure_loaded()[key] = value
        self.changed = True

    def unset(self, key: str) -> None:
        data = self._ensure_loaded()
        if key in data:
            del data[key]
            self.changed = True

    def clear(self) -> None:
        data = self._ensure_loaded()
        if data:
            data.clear()
        self.changed = True


@dataclass(frozen=True)
class WorkflowInfo:
    """What ``info('workflow.name')`` and ``info('workflow.version')`` answer."""

    name: str = ""
    version: str = ""


class Context:
    """Everything one evaluation can see and change.

    ``outputs`` maps actionIds to resource outputs; ``action_ids`` are the reserved names of
    the workflow's resources (``get(actionId)`` answers only from ``outputs``).
    ``action_id`` is the resource running now, for ``info('actionId')``. ``element`` is
    the item a predicate (``filter(xs, .price > 1)``) is looking at, for ``#`` and ``.name``;
    ``deadline`` is when the predicate call running now must end (0 outside predicates).
    """

    __slots__ = (
        "action_id",
        "action_ids",
        "deadline",
        "element",
        "memory",
        "outputs",
        "request",
        "session",
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
    ) -> None:
        self.request = request or Request()
        self.session = session if session is not None else SessionState()
        self.memory: dict[str, Any] = memory if memory is not None else {}
        self.outputs: dict[str, Any] = outputs if outputs is not None else {}
        self.action_ids = action_ids
        self.action_id = action_id
        self.workflow = workflow or WorkflowInfo()
        self.element: Any = None
        self.deadline = 0.0
