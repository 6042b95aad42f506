"""Session stores (memory, SQLite, Redis), opening them from settings, and transactions."""

from __future__ import annotations

from .base import SessionInfo, SessionStore, Snapshot
from .cleaner import Cleaner
from .config import open_store, open_store_url
from .memory import MemoryStore
from .redis import RedisStore
from .sqlite import SqliteStore
from .transactions import transact

__all__ = [
    "Cleaner",
    "MemoryStore",
    "RedisStore",
    "SessionInfo",
    "SessionStore",
    "Snapshot",
    "SqliteStore",
    "open_store",
    "open_store_url",
    "transact",
]
