"""The ``redis`` session store: one Redis hash per session, expired by Redis itself.

A session lives at ``<key_prefix><id>`` as a hash with the fields ``d`` (the data as JSON
text), ``v`` (the version) and ``u`` (the last use, seconds since the epoch by this
process's clock). Every save and touch sets the key's expiry to the ttl with ``PEXPIRE``,
so Redis hides and deletes expired sessions on its own and :meth:`RedisStore.purge_expired`
has nothing to do. A save is a compare-and-set in one Lua script: it writes only when the
stored version is still the loaded one. The ``redis`` package is imported when a store is
opened, so a workflow that does not use Redis does not need it.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ..errors import StoreError
from . import codec
from .base import (
    DEFAULT_CLEANUP_INTERVAL,
    Clock,
    SessionInfo,
    SessionStore,
    Snapshot,
    conflict,
)
from .urls import redacted

DEFAULT_KEY_PREFIX = "kdeps:session:"
SOCKET_TIMEOUT = 5.0
SCAN_BATCH = 500
MAX_TTL_MS = 2**62
"""The longest ttl a store accepts, in milliseconds (about 146 million years). ``PEXPIRE``
refuses an expiry past 2**63 - 1 ms since the epoch, and it runs last in the save script,
after the data is written: a longer ttl would fail every save and leave keys that never
expire, so the store refuses to open with it."""

SAVE = """
local stored = redis.call('HGET', KEYS[1], 'v')
if (stored or '0') ~= ARGV[1] then
    return false
end
local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return version
"""
"""Compare-and-set: write data and push the expiry when the stored version is ARGV[1]."""

TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    return 0
end
redis.call('HSET', KEYS[1], 'u', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
"""Push a live session's expiry; 0 when the key does not exist (unknown or expired)."""


_DATABASE = re.compile(r"[0-9]+")
"""The path of a ``redis://`` URL after its slash: a database number. redis-py would read
``/abc`` as database 0 and ``/1/2`` as 12 without a word, so anything else is refused."""


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise StoreError(
            "session store type redis needs the redis package (pip install redis)"
        ) from exc
    return redis


def check_redis_url(url: str) -> None:
    """Refuse a URL :class:`RedisStore` cannot work with, without connecting: one redis-py
    cannot read, or whose database is not a number. ``StoreError`` names it (password hidden).
    """
    parts = urlsplit(url)
    database = parts.path[1:]
    if parts.scheme in ("redis", "rediss") and database and not _DATABASE.fullmatch(database):
        raise StoreError(
            f"session store {redacted(url)}: the database {database!r} in the URL is not a "
            "number (use redis://host:port/0)"
        )
    try:
        _redis().connection.parse_url(url)
    except ValueError as exc:
        raise StoreError(f"session store {redacted(url)}: {exc}") from exc


def check_redis_ttl(ttl: float) -> None:
    """Refuse a ttl longer than Redis can keep a key (``StoreError``)."""
    if not ttl * 1000 <= MAX_TTL_MS:
        raise StoreError(f"a ttl of {ttl:g} seconds is longer than Redis can keep a key")


class RedisStore(SessionStore):
    """Sessions in the Redis server at ``url`` (``redis://host:port/db``, ``rediss://…``)."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        ttl: float,
        clock: Clock = time.time,
        *,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        super().__init__(ttl, clock, cleanup_interval=cleanup_interval)
        redis = _redis()
        self.url = redacted(url)
        check_redis_url(url)
        try:
            check_redis_ttl(ttl)
        except StoreError as exc:
            raise StoreError(f"session store {self.url}: {exc.message}") from exc
        self.key_prefix = key_prefix
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self._unreachable: tuple[type[Exception], ...] = (
            redis.ConnectionError,
            redis.TimeoutError,
        )
        options = {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT}
        try:
            self._client = redis.Redis.from_url(url, **options)
        except ValueError as exc:
            raise StoreError(f"session store {self.url}: {exc}") from exc
        self._connect_own: Callable[[], Any] = functools.partial(
            redis.Redis.from_url, url, single_connection_client=True, **options
        )
        self._own = threading.local()
        self._owned: list[Any] = []
        self._owned_lock = threading.Lock()
        self._save = self._client.register_script(SAVE)
        self._touch = self._client.register_script(TOUCH)

    @property
    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))

    def _key(self, session_id: str) -> str:
        return self.key_prefix + session_id

    def _session_client(self) -> Any:
        """This thread's own connection, for the session round trips (load, save, touch).

        Threads sharing one client queue on its connection pool's lock for every command: 16
        threads doing Redis round trips spent 150-170 µs of CPU each through one shared pool
        and 110-125 µs each on their own connections. Opened on the thread's first round
        trip (so inside :meth:`_guard`), closed by :meth:`close`."""
        client = getattr(self._own, "client", None)
        if client is None:
            client = self._connect_own()
            with self._owned_lock:
                self._owned.append(client)
            self._own.client = client
        return client

    @contextmanager
    def _guard(self, session_id: str | None = None) -> Iterator[None]:
        """Turn Redis failures into ``StoreError``; a wrong key type names the session."""
        try:
            yield
        except self._unreachable as exc:
            raise StoreError(f"session store {self.url} is unreachable: {exc}") from exc
        except self._errors as exc:
            if session_id is not None and "WRONGTYPE" in str(exc):
                raise StoreError(
                    f"session {session_id!r} is unreadable: its Redis key is not a hash"
                ) from exc
            raise StoreError(f"session store {self.url}: {exc}") from exc

    def load(self, session_id: str) -> Snapshot | None:
        with self._guard(session_id):
            client = self._session_client()
            text, version, last_used = client.hmget(self._key(session_id), "d", "v", "u")
        if text is None and version is None and last_used is None:
            return None
        if text is None:
            raise StoreError(f"session {session_id!r} is unreadable: its data is missing")
        try:
            number = int(version)
            expires_at = float(last_used) + self.ttl
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"session {session_id!r} is unreadable: its version or last use is not a number"
            ) from exc
        return Snapshot(codec.decode(session_id, text), number, expires_at)

    def save(self, session_id: str, data: dict[str, Any], version: int) -> int:
        text = codec.encode(session_id, data)
        args = [version, text, self.clock(), self._ttl_ms]
        with self._guard(session_id):
            client = self._session_client()
            new_version = self._save(keys=[self._key(session_id)], args=args, client=client)
        if new_version is None:
            raise conflict(session_id, version)
        return int(new_version)

    def touch(self, session_id: str) -> bool:
        with self._guard(session_id):
            client = self._session_client()
            args = [self._ttl_ms, self.clock()]
            touched = self._touch(keys=[self._key(session_id)], args=args, client=client)
        return int(touched) == 1

    def delete(self, session_id: str) -> bool:
        with self._guard():
            return int(self._client.delete(self._key(session_id))) == 1

    def purge_batch(self, limit: int) -> int:
        """Nothing to do: Redis deletes expired keys itself. Returns ``0``."""
        return 0

    def sessions(self) -> Iterator[SessionInfo]:
        infos: list[SessionInfo] = []
        prefix = self.key_prefix.encode()
        with self._guard():
            keys = list(self._client.scan_iter(match=_glob_escape(prefix) + b"*", count=SCAN_BATCH))
            for start in range(0, len(keys), SCAN_BATCH):
                batch = keys[start : start + SCAN_BATCH]
                pipeline = self._client.pipeline(transaction=False)
                for key in batch:
                    pipeline.hmget(key, "d", "u")
                    pipeline.pttl(key)
                replies = pipeline.execute(raise_on_error=False)
                now = time.time()
                for index, key in enumerate(batch):
                    fields, pttl = replies[2 * index], replies[2 * index + 1]
                    info = self._info(key[len(prefix) :].decode(), fields, pttl, now)
                    if info is not None:
                        infos.append(info)
        infos.sort(key=lambda info: (info.expires_at, info.session_id))
        yield from infos

    def _info(self, session_id: str, fields: Any, pttl: Any, now: float) -> SessionInfo | None:
        """One listing row from the replies for one key; ``None`` when the key has gone."""
        if not isinstance(pttl, int) or pttl == -2:
            return None
        expires_at = now + pttl / 1000 if pttl >= 0 else math.inf
        if isinstance(fields, Exception):
            return SessionInfo(session_id, expires_at - self.ttl, expires_at, None)
        text, last_used = fields
        try:
            used = float(last_used)
        except (TypeError, ValueError):
            used = expires_at - self.ttl
        keys = None if text is None else codec.key_count(session_id, text)
        return SessionInfo(session_id, used, expires_at, keys)

    def check(self) -> None:
        """``PING`` the server: ``StoreError`` when it is unreachable or refuses us."""
        with self._guard():
            self._client.ping()

    def close(self) -> None:
        with self._owned_lock:
            owned, self._owned = self._owned, []
        with self._guard():
            for client in owned:
                client.close()
            self._client.close()


def _glob_escape(text: bytes) -> bytes:
    """``text`` with the glob characters of ``SCAN MATCH`` escaped."""
    for special in (b"\\", b"*", b"?", b"[", b"]"):
        text = text.replace(special, b"\\" + special)
    return text
