"""Run one request against a workflow: the requires closure, the block order, the response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """What a request answers: HTTP status, extra headers, the JSON body, the session id.

    ``session_id`` is set when the request created or used a session; the transport (CLI or
    server) returns it as the ``kdeps_session_id`` cookie and the ``X-Session-ID`` header.
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
