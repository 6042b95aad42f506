"""One request's view of its session: loaded lazily, at most once; tracks what changed.

The runner's transaction (:func:`~kdeps_expr.sessions.transact`) makes a
:class:`SessionState` per attempt; the language reads and writes it through ``get(k,
'session')``, ``set(k, v, 'session')`` and ``info('sessionId')``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from .base import Snapshot

SESSION_ID_BYTES = 32


def new_session_id() -> str:
    """32 random bytes from ``secrets``, URL-safe base64 without padding (43 characters).

    Bytes whose id would start with ``-`` are drawn again (1 draw in 64): such an id reads
    as an option on a command line (``sessions show ID``, ``run --session-id ID``). The
    ids drawn are uniform over the others, which costs 0.02 of 256 bits.
    """
    while True:
        encoded = base64.urlsafe_b64encode(secrets.token_bytes(SESSION_ID_BYTES))
        if not encoded.startswith(b"-"):
            return encoded.rstrip(b"=").decode()


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

    def renew(self) -> str:
        """Give the loaded session a fresh id; return the id it had (SPEC §7, renewal on
        privilege change)."""
        old_id = self._id
        assert old_id is not None, "only a session the store knows is renewed"
        self._id = self._new_id()
        return old_id

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
