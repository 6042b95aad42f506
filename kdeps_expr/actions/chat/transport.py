"""Chat calls over HTTP: one httpx client, a deadline per call, bounded retries, clear failures.

:class:`HttpTransport` posts a :class:`~.calls.ChatCall`'s body to its endpoint and hands
the reply to the backend's :class:`Wire` to read. What it guarantees, for every backend:

- **One deadline** (the call's ``timeout``) covers connecting, sending, every retry and
  its wait, and reading the reply. Each wait for data gets the time left when the attempt
  began, and the reply is checked against the deadline as it arrives, so a reply that
  trickles in past it is cut off: at worst one idle read after the deadline. A call out
  of time fails with 504.
- **Retries** (``retries``, default 2) follow an answer 408, 409, 429 or 5xx (Anthropic's
  529 included) and a connection that could not be made or broke before any answer,
  with exponential backoff and jitter, or after the server's ``Retry-After`` (capped).
  A quota that is spent (OpenAI's ``insufficient_quota``, Anthropic's spend limit) is not
  retried: waiting cannot help. Nothing is retried once a reply has begun.
- **Failures** are :class:`~kdeps_expr.actions.failures.ExecutorError` (an
  ``ActionError``: 502; 504 for time) whose message names the resource, backend, model
  and endpoint, and the reason: the status
  and the server's own message, "cannot connect: …", or what was wrong with the reply.
  The API key travels only in a request header; it is never logged, and any copy of it
  in a server's message is redacted.

The client is thread-safe and keeps connections alive between calls; a
:class:`~.service.ChatService` holds one per backend, for the life of the process.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ..failures import INTERNAL, TIMEOUT, seconds
from .calls import ChatCall, redact
from .options import OptionError
from .reading import Completion, ReplyError, excerpt, loads

logger = logging.getLogger("kdeps_expr.chat")

MAX_REPLY_BYTES = 16 * 1024 * 1024
"""The largest reply read, streamed or not; a larger one fails the call."""

MAX_ERROR_BYTES = 64 * 1024
"""How much of an error answer is read for its message."""

RETRY_STATUSES = frozenset({408, 409, 429})
"""Statuses retried besides every 5xx."""

_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


class Wire(Protocol):
    """One API's wire format: the request it wants, the replies and errors it sends."""

    def headers(self, call: ChatCall) -> dict[str, str]:
        """Headers besides ``content-type`` (the key goes here)."""
        ...

    def body(self, call: ChatCall) -> dict[str, Any]:
        """The JSON request body; OptionError for an option this API cannot take."""
        ...

    def read(self, payload: Any) -> Completion:
        """A whole JSON reply; :class:`ReplyError` when it is not one this API sends."""
        ...

    def read_stream(self, lines: Iterator[str]) -> Completion:
        """A streamed reply, line by line, accumulated; :class:`ReplyError` when broken."""
        ...

    def error(self, status: int, payload: Any) -> tuple[str, bool]:
        """The server's message in an error answer, and whether a retry can help."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before retry ``n`` (0-based): ``base * 2**n``, capped, with jitter.

    A ``Retry-After`` (or ``retry-after-ms``) from the server is used instead, up to
    ``longest_wait`` seconds.
    """

    base: float = 0.5
    cap: float = 8.0
    longest_wait: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``attempt``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.longest_wait)
        return float(min(self.cap, self.base * 2**attempt) * (1 - 0.25 * random.random()))


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _OutOfTime(Exception):
    pass


class HttpTransport:
    """Sends chat calls over one keep-alive httpx client; safe to share between threads."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._client = httpx.Client(
            follow_redirects=False, timeout=None, headers={"user-agent": "kdeps-expr"}
        )

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def complete(self, call: ChatCall, wire: Wire) -> Completion:
        """The reply to ``call``, read by ``wire``; ActionError (502/504) when there is none."""
        deadline = time.monotonic() + call.timeout
        try:
            content = json.dumps(wire.body(call), ensure_ascii=False).encode()
        except OptionError as exc:
            raise call.failure(f"{exc.key}: {exc.message}", INTERNAL) from None
        headers = {"content-type": "application/json", **wire.headers(call)}
        attempt = 0
        while True:
            try:
                return self._attempt(call, wire, content, headers, deadline)
            except _Retryable as failure:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                if attempt >= call.retries:
                    raise call.failure(failure.reason + tries) from None
                wait = self.policy.delay(attempt, failure.retry_after)
                if time.monotonic() + wait >= deadline:
                    late = (
                        f"; a retry in {wait:.2g}s would pass the {seconds(call.timeout)} timeout"
                    )
                    raise call.failure(failure.reason + tries + late) from None
                attempt += 1
                logger.warning(
                    "chat in %s: %s model %r: %s; retry %d of %d in %.2fs",
                    call.action_id,
                    call.backend,
                    call.model,
                    redact(failure.reason, call.api_key),
                    attempt,
                    call.retries,
                    wait,
                )
                time.sleep(wait)

    def _attempt(
        self,
        call: ChatCall,
        wire: Wire,
        content: bytes,
        headers: dict[str, str],
        deadline: float,
    ) -> Completion:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise call.failure(_late(call), TIMEOUT)
        answered = False
        try:
            with self._client.stream(
                "POST", call.url, content=content, headers=headers, timeout=remaining
            ) as response:
                answered = True
                status = response.status_code
                if not 200 <= status < 300:
                    body = _read(response, deadline, MAX_ERROR_BYTES, truncate=True)
                    reason, retry = wire.error(status, _parse(body, strict=False))
                    reason = f"answered {status}: {reason}"
                    if retry and (status in RETRY_STATUSES or status >= 500):
                        raise _Retryable(reason, _retry_after(response.headers))
                    raise call.failure(reason)
                whole = response.headers.get("content-type", "").startswith("application/json")
                if call.streaming and not whole:  # a server that cannot stream answers whole
                    lines = _lines(response, deadline)
                    completion = wire.read_stream(lines)
                    for _ in lines:  # the rest, so the connection can serve the next call
                        pass
                    return completion
                return wire.read(_parse(_read(response, deadline, MAX_REPLY_BYTES)))
        except (httpx.TimeoutException, _OutOfTime):
            raise call.failure(_late(call), TIMEOUT) from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"cannot connect: {_ERRNO.sub('', str(exc)) or 'refused'}") from None
        except httpx.TransportError as exc:
            reason = f"the connection broke: {_ERRNO.sub('', str(exc)) or type(exc).__name__}"
            if not answered:
                raise _Retryable(reason) from None
            raise call.failure(reason) from None
        except ReplyError as exc:
            raise call.failure(str(exc)) from None
        except httpx.DecodingError as exc:
            raise call.failure(f"the reply cannot be decoded: {exc}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise call.failure(f"the request failed: {exc}") from None


def _late(call: ChatCall) -> str:
    return f"no complete reply within the {seconds(call.timeout)} timeout"


def _read(
    response: httpx.Response, deadline: float, limit: int, *, truncate: bool = False
) -> bytes:
    """The body, read against the deadline; past ``limit`` bytes: cut, or ReplyError."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if time.monotonic() > deadline:
            raise _OutOfTime
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise ReplyError(f"the reply is larger than {limit} bytes")
    return b"".join(chunks)


def _lines(response: httpx.Response, deadline: float) -> Iterator[str]:
    """The streamed body line by line, against the deadline and :data:`MAX_REPLY_BYTES`."""
    size = 0
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            raise _OutOfTime
        size += len(line) + 1
        if size > MAX_REPLY_BYTES:
            raise ReplyError(f"the reply is larger than {MAX_REPLY_BYTES} bytes")
        yield line


def _parse(body: bytes, *, strict: bool = True) -> Any:
    """The JSON value of ``body``; not JSON: ReplyError, or (``strict=False``) the text."""
    try:
        return loads(body)
    except ValueError:
        if strict:
            raise ReplyError(f"the reply is not JSON: {excerpt(body)}") from None
        return body.decode("utf-8", "replace").strip()


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``retry-after``), or ``None``."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()
