"""The session transport (SPEC §7): the id in the session cookie (``kdeps_session_id``
unless ``settings.session.cookieName`` says otherwise) or the ``X-Session-ID`` header, given
back in both; requests on one session take turns.

Only a well-formed id (43 URL-safe base64 characters, the shape of
:func:`~kdeps_expr.sessions.new_session_id`) is handed to the runner, which adopts it only
when the store knows it.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping

from starlette.requests import cookie_parser

from ..sessions import DEFAULT_COOKIE_NAME

SESSION_COOKIE = DEFAULT_COOKIE_NAME
SESSION_HEADER = "X-Session-ID"

_SESSION_HEADER_KEY = SESSION_HEADER.lower()
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
"""A URL-safe base64 rendering of exactly 32 bytes: 42 free characters, then one whose
two low bits are zero (the last character carries only 4 bits of the 256)."""


def valid_session_id(value: str | None) -> str | None:
    """``value`` when it has the shape of a session id, else ``None`` (never looked up)."""
    return value if value is not None and _SESSION_ID.fullmatch(value) else None


def session_id_of(headers: Mapping[str, str], cookie_name: str = SESSION_COOKIE) -> str | None:
    """The well-formed session id the request carries: the cookie's, else the header's."""
    cookie = headers.get("cookie")
    from_cookie = cookie_parser(cookie).get(cookie_name) if cookie else None
    return valid_session_id(from_cookie) or valid_session_id(headers.get(_SESSION_HEADER_KEY))


class SessionCookie:
    """The session cookie (SPEC §7): its name, and the attributes made once for every answer."""

    __slots__ = ("_suffix", "name")

    def __init__(self, name: str, ttl: float, secure: bool) -> None:
        self.name = name
        secure_flag = "; Secure" if secure else ""
        self._suffix = f"; Max-Age={math.ceil(ttl)}; Path=/; HttpOnly; SameSite=Lax{secure_flag}"

    def value(self, session_id: str) -> str:
        """The ``Set-Cookie`` value that gives ``session_id``."""
        return f"{self.name}={session_id}{self._suffix}"


def give_session(headers: dict[str, str], session_id: str, cookie: SessionCookie) -> None:
    """Return ``session_id`` to the client in the header and the cookie; never cached."""
    headers[SESSION_HEADER] = session_id
    headers["Set-Cookie"] = cookie.value(session_id)
    headers["Cache-Control"] = "no-store"


class SessionTurns:
    """Requests that carry the same session id run one after another in this process.

    They would race anyway: each reads the session and writes it at the end, and every
    write but one would conflict and run its request again (``sessions.transact``). Taking
    turns here spends no work on re-runs and leaves only the racing between processes to
    the store's optimistic versions. Requests on different sessions, and requests without
    a session id, never wait for each other. Used only from the event loop's thread.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def take(self, session_id: str) -> None:
        """Wait for the requests on ``session_id`` that came first; :meth:`give_back` after."""
        lock, waiting = self._locks.get(session_id) or (asyncio.Lock(), 0)
        self._locks[session_id] = (lock, waiting + 1)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: never held the turn
            self._leave(session_id)
            raise

    def give_back(self, session_id: str) -> None:
        """End the turn :meth:`take` gave: the next request on ``session_id`` may run."""
        self._locks[session_id][0].release()
        self._leave(session_id)

    def _leave(self, session_id: str) -> None:
        lock, waiting = self._locks[session_id]
        if waiting == 1:
            del self._locks[session_id]
        else:
            self._locks[session_id] = (lock, waiting - 1)
