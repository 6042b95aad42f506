"""One request's session transaction: load once, run, write once at the end or not at all.

:func:`transact` is how a runner uses a store. The request's work runs against a fresh
:class:`~kdeps_expr.SessionState`; only when it succeeds is the session written,
with the version that was loaded. When another request saved the session in between, the
save raises ``ConflictError``, and the work runs again on the new state after a short
random pause (growing with each attempt, and with the attempt's own time on a slow
store), so no update is lost and no lock is held while a request runs. Work must
therefore be safe to repeat until it succeeds: it may change only its own state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection
from typing import TypeVar

from ..errors import ConflictError, StoreError
from .base import SessionStore, Snapshot
from .state import SessionState

T = TypeVar("T")

DEFAULT_ATTEMPTS = 25
BACKOFF_FIRST = 0.0005
"""Upper bound of the first pause after a conflict, in seconds; it doubles each time."""
BACKOFF_MAX = 0.05
BACKOFF_SPREAD = 32
"""A store slower than ``BACKOFF_FIRST`` per attempt (PostgreSQL, whose save waits for its
commit) pauses in units of its own attempt's time, up to this many of them: on a fast
store the pauses are those above, and on a slow one the requests on one session spread
out enough that each gets its turn instead of colliding again."""


def _pause(attempt: int, took: float) -> float:
    """A random pause before ``attempt`` (counted from 1), after one that took ``took`` s."""
    unit = max(BACKOFF_FIRST, took)
    longest = max(BACKOFF_MAX, took * BACKOFF_SPREAD)
    return random.uniform(0, min(longest, unit * 2 ** (attempt - 1)))


def _renews(loaded: Snapshot | None, state: SessionState, renew_on: Collection[str]) -> bool:
    """Whether the request changed a key of ``renew_on`` in a session that already existed."""
    if loaded is None or not state.changed:
        return False
    data = state.data
    return any(
        (key in loaded.data) != (key in data) or loaded.data.get(key) != data.get(key)
        for key in renew_on
    )


def _renew(store: SessionStore, state: SessionState) -> None:
    """Commit the session under a fresh id and delete the old one (SPEC §7 renewal).

    A request on the old id that commits between this request's load and the delete is
    lost with that id, which after a privilege change nobody may use any more.
    """
    old_id = state.renew()
    store.save(state.id, state.data, 0)
    store.delete(old_id)


def _commit(
    store: SessionStore, state: SessionState, loaded: Snapshot | None, renew_on: Collection[str]
) -> bool:
    """Write what the request did to its session; ``False`` when another request won."""
    if state.changed and not (state.version or state.data or state.id_used):
        return True  # a new session written but left empty (a logout without one): no row
    try:
        if renew_on and _renews(loaded, state, renew_on):
            _renew(store, state)
        elif state.changed:
            store.save(state.id, state.data, state.version)
        elif state.version:
            return store.refresh(state.id, state.expires_at)
        elif state.id_used:
            store.save(state.id, state.data, 0)
    except ConflictError:
        return False
    return True


def transact(
    store: SessionStore,
    session_id: str | None,
    work: Callable[[SessionState], tuple[T, bool]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    renew_on: Collection[str] = (),
) -> tuple[T, SessionState]:
    """Run ``work`` on the session ``session_id`` and commit it; return its result and state.

    ``work(state)`` returns ``(result, ok)``. When ``ok`` is false, or ``work`` raises,
    nothing is written. When it is true: a changed session is saved; a session that was
    only read has its expiry pushed (:meth:`~.base.SessionStore.refresh`); a session whose
    id was read but that did not exist is created empty, so the id the client receives is
    real; a request that never touched its session writes nothing (SPEC §7), and neither
    does one that wrote a new session but left it empty without reading its id
    (``clear('session')`` from a client with no session), so a crawler following a logout
    link fills no store. An id the store does not know is never adopted: the state hands
    out a fresh one. A request that changes a key of ``renew_on`` in an existing session
    commits it under a fresh id and deletes the old id (``state.existing_id`` is the new
    one). When every one of ``attempts`` saves conflicts, ``StoreError`` is raised.

    A load that fails raises its ``StoreError`` here once ``work`` returns, even when an
    expression caught it (a validation that raises counts as failed), so a request whose
    session could not be read never answers as if it had been, and writes nothing.
    """
    took = 0.0
    for attempt in range(attempts):
        if attempt:
            time.sleep(_pause(attempt, took))
        started = time.perf_counter()
        loads = _Loads(store, session_id)
        state = SessionState(session_id=session_id, load=loads)
        result, ok = work(state)
        if loads.failure is not None:
            raise loads.failure
        if not ok or _commit(store, state, loads.snapshot, renew_on):
            return result, state
        took = time.perf_counter() - started
    raise StoreError(
        f"session {session_id!r} was changed by other requests during each of {attempts} "
        "attempts to save it; giving up"
    )


class _Loads:
    """The loader of one attempt's state: remembers the snapshot it read, or its failure."""

    __slots__ = ("failure", "session_id", "snapshot", "store")

    def __init__(self, store: SessionStore, session_id: str | None) -> None:
        self.store = store
        self.session_id = session_id
        self.snapshot: Snapshot | None = None
        self.failure: StoreError | None = None

    def __call__(self) -> Snapshot | None:
        if self.session_id is None:
            return None
        try:
            self.snapshot = self.store.load(self.session_id)
        except StoreError as exc:
            self.failure = exc
            raise
        return self.snapshot
