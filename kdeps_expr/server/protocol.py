"""HTTP/1.1 connections: uvicorn's httptools protocol, plus the two limits it leaves out.

uvicorn reads request heads through httptools, which keeps no limit on their size (a
50 MB header would be read into memory whole), and it times out only idle keep-alive
connections: a client that opens a connection and stops sending mid-request holds it, and
its memory, for ever. :class:`GuardedHttp` adds both limits of SPEC §9:

- the request line and headers together may take ``max_head_bytes``; past that the
  client gets a 431 and the connection is closed, having read at most one socket read
  beyond the cap;
- a request must arrive whole, head and body, within ``request_timeout`` seconds of its
  first byte (of the connection, for its first request). A client whose head is still
  incomplete then gets a 408; one that stops in the middle of its body is disconnected
  (the request in the app sees the client go away and answers nobody).

The time between requests on a kept-alive connection is uvicorn's ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..language.context import Request
from ..workflow.runner import encode_body, error_body
from .request_ids import new_request_id

logger = logging.getLogger("kdeps_expr.server")


@dataclass(frozen=True)
class HttpLimits:
    """What a client may send: ``max_head_bytes`` of request line and headers, and a whole
    request within ``request_timeout`` seconds."""

    max_head_bytes: int
    request_timeout: float


def refusal(status: int, message: str) -> bytes:
    """A whole HTTP response with a SPEC §6 error body that closes the connection, for a
    request refused before it reached the app."""
    request_id = new_request_id()
    body = encode_body(error_body(status, message, Request(request_id=request_id)))
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\nconnection: close\r\n\r\n"
    )
    logger.warning("request %s: refused with %d: %s", request_id, status, message)
    return head.encode("latin-1") + body


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the request head and a request deadline.

    Make a subclass with its ``limits`` with :func:`guarded_http` (uvicorn makes the
    protocol objects). ``_head_room`` is how many more bytes the head of the request being
    read may take, or ``None`` once its head is complete; ``_deadline`` is the timer of the
    request that has not fully arrived yet.
    """

    limits: ClassVar[HttpLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = self.limits
        self._head_room: int | None = self._limits.max_head_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        room = self._head_room
        if room is None or len(data) <= room:
            if room is not None:
                self._head_room = room - len(data)
            self._started = True
            super().data_received(data)
            return
        # The head must end within ``room`` bytes: feed those, and see whether it did.
        self._head_room = 0
        if room:
            self._started = True
            super().data_received(data[:room])
            if self.transport.is_closing():
                return
        if self._head_room == 0:
            size = self._limits.max_head_bytes
            self._refuse(431, f"the request line and headers are larger than {size} bytes")
            return
        self.data_received(data[room:])

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._head_room = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._head_room = self._limits.max_head_bytes
        self._started = False

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._limits.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        """The request did not arrive in time: answer 408 if its head is incomplete (and
        something of it came), and close the connection."""
        self._deadline = None
        if self.transport.is_closing():
            return
        timeout = f"{self._limits.request_timeout:g}"
        if self._head_room is None:
            logger.warning("a request body did not arrive within %ss: disconnected", timeout)
            self.transport.close()
        elif self._started:
            self._refuse(408, f"the request did not arrive within {timeout}s")
        else:
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        self.transport.write(refusal(status, message))
        self.transport.close()


def guarded_http(limits: HttpLimits) -> type[GuardedHttp]:
    """The protocol class uvicorn is given: :class:`GuardedHttp` with ``limits``."""
    return type("GuardedHttp", (GuardedHttp,), {"limits": limits})
