"""The session store contract: every backend implements :class:`SessionStore`.

A store maps a session id to a JSON-serialisable map plus a version number. Requests use
it with optimistic concurrency: :meth:`SessionStore.load` once at the start,
:meth:`SessionStore.save` once at the end with the version that was loaded. A save whose
version no longer matches raises :class:`~kdeps_expr.errors.ConflictError` and the caller
re-runs the request, so concurrent requests lose no update and requests on different
sessions never wait for each other.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ConflictError

Clock = Callable[[], float]

DEFAULT_TTL = 30 * 60.0
DEFAULT_CLEANUP_INTERVAL = 5 * 60.0
PURGE_BATCH_SIZE = 500
EXPIRY_RESOLUTION = 1.0
"""How far, in seconds, the stored expiry of a session that requests only read may trail
now + ttl; never more than 1% of the ttl. See :meth:`SessionStore.refresh`."""
CLEANER_DUTY = 0.05
"""The share of time a background purge may spend writing (see ``purge_expired``)."""


def conflict(session_id: str, version: int) -> ConflictError:
    """The error of a save whose ``version`` is no longer the stored one."""
    return ConflictError(
        f"session {session_id!r} was changed by another request since version {version}"
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One session as loaded: its data, the version to save against, and its expiry."""

    data: dict[str, Any]
    version: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A row of ``kdeps-expr sessions list``."""

    session_id: str
    last_used: float
    expires_at: float
    keys: int | None
    """How many keys the session holds; ``None`` when its data is unreadable."""


class SessionStore(ABC):
    """A place where sessions live; the docstrings below are the contract.

    ``ttl`` is an idle timeout in seconds: every save or touch pushes the session's expiry
    to ``clock() + ttl``. An expired session is invisible to every method at once, whether
    or not :meth:`purge_expired` has run. ``cleanup_interval`` is how often a long-running
    process should call :meth:`purge_expired` (see :class:`~kdeps_expr.sessions.Cleaner`).
    Failures raise :class:`StoreError`; no method signals failure through its return
    value. One store object serves many threads.
    """

    kind: str = "abstract"

    def __init__(
        self,
        ttl: float,
        clock: Clock = time.time,
        *,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.cleanup_interval = cleanup_interval

    @abstractmethod
    def load(self, session_id: str) -> Snapshot | None:
        """The live session ``session_id``, or ``None`` when it is unknown or expired.

        Raises ``StoreError`` naming the session when its stored data cannot be read.
        """

    @abstractmethod
    def save(self, session_id: str, data: dict[str, Any], version: int) -> int:
        """Store ``data`` as the whole session and push its expiry; return the new version.

        ``version`` is the one :meth:`load` returned, or ``0`` for a session that did not
        exist (an expired one counts as not existing). When the stored version differs,
        nothing is written and ``ConflictError`` is raised. Data that is not JSON (a
        non-string map key, a function) raises ``StoreError`` and writes nothing.
        """

    @abstractmethod
    def touch(self, session_id: str) -> bool:
        """Push the expiry of a live session to now + ttl; ``False`` when it is not live."""

    def refresh(self, session_id: str, expires_at: float) -> bool:
        """After a request that only read a session loaded with expiry ``expires_at``: push
        the expiry with :meth:`touch`, unless it is already within the expiry resolution of
        now + ttl (a request less than a second ago pushed it). ``False`` when not live.

        This keeps a burst of reads from writing the same expiry again and again: a touch is
        a write, the dearest part of a read-only request (docs/stores.md, "TTL and expiry").
        """
        resolution = min(EXPIRY_RESOLUTION, self.ttl / 100)
        if expires_at > self.clock() + self.ttl - resolution:
            return True
        return self.touch(session_id)

    @abstractmethod
    def delete(self, session_id: str) -> bool:
        """Remove one session; ``False`` when there was none."""

    @abstractmethod
    def purge_batch(self, limit: int) -> int:
        """Delete at most ``limit`` expired sessions in one short write; return how many."""

    def purge_expired(
        self,
        batch_size: int = PURGE_BATCH_SIZE,
        *,
        duty: float = 1.0,
        stop: threading.Event | None = None,
    ) -> int:
        """Delete every expired session, ``batch_size`` at a time; return how many.

        Each batch is one short write, so a request waits for at most one batch. ``duty``
        is the share of the time the purge may spend writing: after a batch that took
        ``t`` seconds it pauses ``t * (1 / duty - 1)``, so a background purge
        (:class:`~kdeps_expr.sessions.Cleaner`) leaves the store to requests most of the
        time, while ``duty=1`` (``kdeps-expr sessions purge``) runs flat out. Setting
        ``stop`` ends the purge after the current batch. A backend whose sessions expire
        natively (Redis) has nothing to delete and returns ``0``.
        """
        if not 0 < duty <= 1:
            raise ValueError(f"duty must be in (0, 1], not {duty!r}")
        stop = stop or threading.Event()
        purged = 0
        while True:
            started = time.perf_counter()
            count = self.purge_batch(batch_size)
            purged += count
            pause = (time.perf_counter() - started) * (1 / duty - 1)
            if count < batch_size or stop.wait(pause):
                return purged

    @abstractmethod
    def sessions(self) -> Iterator[SessionInfo]:
        """Every live session, soonest expiry first (oldest use first under one ttl).

        A session whose data is unreadable is listed with ``keys=None`` rather than
        stopping the listing, so an operator can find it and delete it.
        """

    def check(self) -> None:
        """Raise ``StoreError`` when the store cannot serve requests now.

        A server calls it once before it starts listening. Opening a SQLite or memory store
        already proved it works, so this does nothing there; a Redis store asks its server.
        """
        return None

    @abstractmethod
    def close(self) -> None:
        """Release connections and files; the store is unusable afterwards."""
