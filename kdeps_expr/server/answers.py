"""What the server sends back: a JSON :class:`Answer`, and the errors it answers itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import Scope, Send

from ..language.context import Request
from ..workflow.runner import Response, encode_body, error_body

JSON_TYPE = "application/json"
_JSON_TYPE_HEADER = (b"content-type", JSON_TYPE.encode())


class ClientError(Exception):
    """A request the server refuses before running anything: 400, 404, 405, 413, 415."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class Answer:
    """What the server sends back: status, headers other than the two it adds, and the body
    already encoded, so nothing is left to fail while it is being sent. A runner's answer
    was encoded before its session committed (:attr:`Response.content`)."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, content: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    @classmethod
    def of(cls, result: Response) -> Answer:
        """The runner's response, sent as it was encoded."""
        return cls(result.status, result.content, dict(result.headers))

    @classmethod
    def json(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
        """An answer of the server's own, encoded now."""
        return cls(status, encode_body(body), headers or {})


def error_answer(scope: Scope, request_id: str, error: ClientError) -> Answer:
    """A SPEC §6 error answered by the transport itself; it never touches a session."""
    request = Request(method=scope["method"], path=scope["path"], request_id=request_id)
    return Answer.json(
        error.status, error_body(error.status, error.message, request), error.headers
    )


async def send_answer(send: Send, answer: Answer) -> None:
    """Write ``answer`` with its ``Content-Length`` and (unless it has one) ``Content-Type``."""
    content = answer.content
    headers = [(b"content-length", b"%d" % len(content))]
    typed = False
    for name, value in answer.headers.items():
        key = name.lower().encode("latin-1")
        if key != b"content-length":
            headers.append((key, value.encode("latin-1")))
            typed = typed or key == b"content-type"
    if not typed:
        headers.append(_JSON_TYPE_HEADER)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def not_allowed(method: str, path: str, allowed: Iterable[str]) -> ClientError:
    shown = ", ".join(allowed)
    message = f"method {method} is not allowed for {path}; allowed: {shown}"
    return ClientError(405, message, {"Allow": shown})
