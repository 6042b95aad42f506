"""Session stores (memory, SQLite, Redis, PostgreSQL), opening them from settings, one
request's session view (:class:`SessionState`) and its transaction (:func:`transact`)."""

from __future__ import annotations

from .base import SessionInfo, SessionStore, Snapshot
from .cleaner import Cleaner
from .config import DEFAULT_COOKIE_NAME, cookie_name, open_store, open_store_url, renew_keys
from .memory import MemoryStore
from .postgres import PostgresStore
from .redis import RedisStore
from .sqlite import SqliteStore
from .state import SessionState, new_session_id
from .transactions import transact

__all__ = [
    "DEFAULT_COOKIE_NAME",
    "Cleaner",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SessionInfo",
    "SessionState",
    "SessionStore",
    "Snapshot",
    "SqliteStore",
    "cookie_name",
    "new_session_id",
    "open_store",
    "open_store_url",
    "renew_keys",
    "transact",
]
