"""The ``memory`` session store: sessions in a dict of this process, lost on restart.

Each session is kept as its JSON text (the encoding every store uses), so a caller can
never change stored state through a map it was given, and a value that another backend
would refuse is refused here too. One lock guards the dict; it is held only for a dict
operation, never while JSON is encoded or decoded. The dict is kept in order of last use,
which with one ttl is order of expiry, so a purge pops expired sessions off the front.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from threading import Lock
from typing import Any

from . import codec
from .base import (
    DEFAULT_CLEANUP_INTERVAL,
    Clock,
    SessionInfo,
    SessionStore,
    Snapshot,
    conflict,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    text: str
    version: int
    last_used: float
    expires_at: float


class MemoryStore(SessionStore):
    """Sessions in this process; thread-safe, not shared with other processes."""

    kind = "memory"

    def __init__(
        self,
        ttl: float,
        clock: Clock = time.time,
        *,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
    ) -> None:
        super().__init__(ttl, clock, cleanup_interval=cleanup_interval)
        self._lock = Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _live(self, session_id: str, now: float) -> _Entry | None:
        entry = self._entries.get(session_id)
        return entry if entry is not None and entry.expires_at > now else None

    def _put(self, session_id: str, entry: _Entry) -> None:
        self._entries[session_id] = entry
        self._entries.move_to_end(session_id)

    def load(self, session_id: str) -> Snapshot | None:
        now = self.clock()
        with self._lock:
            entry = self._live(session_id, now)
        if entry is None:
            return None
        return Snapshot(codec.decode(session_id, entry.text), entry.version, entry.expires_at)

    def save(self, session_id: str, data: dict[str, Any], version: int) -> int:
        text = codec.encode(session_id, data)
        now = self.clock()
        with self._lock:
            live = self._live(session_id, now)
            if (live.version if live is not None else 0) != version:
                raise conflict(session_id, version)
            stored = self._entries.get(session_id)
            new_version = (stored.version if stored is not None else 0) + 1
            self._put(session_id, _Entry(text, new_version, now, now + self.ttl))
        return new_version

    def touch(self, session_id: str) -> bool:
        now = self.clock()
        with self._lock:
            entry = self._live(session_id, now)
            if entry is None:
                return False
            self._put(session_id, _Entry(entry.text, entry.version, now, now + self.ttl))
        return True

    def delete(self, session_id: str) -> bool:
        now = self.clock()
        with self._lock:
            entry = self._entries.pop(session_id, None)
        return entry is not None and entry.expires_at > now

    def purge_batch(self, limit: int) -> int:
        now = self.clock()
        count = 0
        with self._lock:
            while count < limit and self._entries:
                first = next(iter(self._entries.values()))
                if first.expires_at > now:
                    break
                self._entries.popitem(last=False)
                count += 1
        return count

    def sessions(self) -> Iterator[SessionInfo]:
        now = self.clock()
        with self._lock:
            entries = [
                (key, entry) for key, entry in self._entries.items() if entry.expires_at > now
            ]
        entries.sort(key=lambda item: (item[1].expires_at, item[0]))
        for session_id, entry in entries:
            keys = codec.key_count(session_id, entry.text)
            yield SessionInfo(session_id, entry.last_used, entry.expires_at, keys)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
