"""The ``sqlite`` session store: one SQLite file, shared by every process that opens it.

The file is in WAL mode, so readers never wait for a writer, with ``synchronous=NORMAL``:
a process that crashes or is killed loses nothing it committed; a power cut or operating
system crash can roll back the latest commits but never corrupts the file. Every write is one
autocommit statement (the version check is part of its ``WHERE``), so no transaction is
ever held open while a request runs and two requests on different sessions only queue
for the microseconds SQLite's single writer needs.

SQLite has one writer per file, and its busy handler waits for the lock by sleeping 1, 2,
5, 10, … 100 ms between tries: sixteen threads of one process writing at once left some
of them sleeping for most of a second while the lock was free again after about 0.1 ms
(docs/stores.md, "Write turns"). So the writers of one process take turns on a lock of
their own, one per file, before their statement runs, and only another process's writer
can make a statement find the file locked; such a statement is tried again after a short
random pause (0.2 ms at first, doubling up to 5 ms), for up to ``BUSY_TIMEOUT``. SQLite's
automatic checkpoint would run inside a write, holding the turn; it is off, and every
``CHECKPOINT_EVERY``-th write checkpoints after its turn instead.

Connections are pooled: a thread borrows one for a single statement and gives it back. A
connection whose statement failed is closed instead of going back: SQLite opens a file it
cannot write read-only and keeps it so, and a connection that met an I/O error may keep
failing, so only fresh connections let the store recover once the file is writable again
(SPEC §8), without a restart. :meth:`SqliteStore.check` writes to the file, so a store
that is unwritable when a server starts stops it with one message.

The file is watched: the store keeps a descriptor of the file it opened, and a borrow
asks it (``fstat``, about a microsecond) whether that file still has a name. When it was
deleted, or replaced by a rename, under a running process, the store logs it, closes
every connection to the old file, removes the old file's ``-wal`` and ``-shm`` (SQLite
would replay that journal onto the new file, which corrupts it), and opens the file now at
``path``, creating an empty store when there is none: it never writes on into a file that
no other process, and no restart, will ever read. (A file overwritten in place keeps its
name and is not noticed; SQLite cannot survive that either.) Several processes sharing
one file should not have it replaced under them: each one notices, but one may remove the
journal another has just begun.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

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

logger = logging.getLogger("kdeps_expr.sessions")

BUSY_TIMEOUT = 10.0
"""Seconds a statement waits for another process's write lock before failing."""
BUSY_PAUSE_FIRST = 0.0002
BUSY_PAUSE_MAX = 0.005
"""The longest pause, in seconds, between two tries of a statement that found the file
locked (the pauses are random, up to ``BUSY_PAUSE_FIRST`` doubling with each try)."""
CHECKPOINT_EVERY = 500
"""Writes of this process between two checkpoints (copying the WAL into the file)."""

LIST_PAGE_SIZE = 500

BUILD_TABLE = """
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        last_used REAL NOT NULL,
        expires_at REAL NOT NULL
    )
"""
BUILD_INDEX = "CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at)"
JOURNAL_SUFFIXES = ("-wal", "-shm")
"""The files SQLite keeps beside a database in WAL mode."""
PROBE_WRITE = "DELETE FROM sessions WHERE id = ''"
"""A write that changes nothing; SQLite refuses it when the file cannot be written."""
LOAD = "SELECT data, version, expires_at FROM sessions WHERE id = :id AND expires_at > :now"
CREATE = """
    INSERT INTO sessions (id, data, version, last_used, expires_at)
    VALUES (:id, :data, 1, :now, :expires_at)
    ON CONFLICT (id) DO UPDATE SET
        data = excluded.data,
        version = sessions.version + 1,
        last_used = excluded.last_used,
        expires_at = excluded.expires_at
    WHERE sessions.expires_at <= :now
    RETURNING version
"""
UPDATE = """
    UPDATE sessions
    SET data = :data, version = version + 1, last_used = :now, expires_at = :expires_at
    WHERE id = :id AND version = :version AND expires_at > :now
    RETURNING version
"""
TOUCH = """
    UPDATE sessions SET last_used = :now, expires_at = :expires_at
    WHERE id = :id AND expires_at > :now
"""
DELETE = "DELETE FROM sessions WHERE id = :id RETURNING expires_at > :now"
PURGE = """
    DELETE FROM sessions WHERE rowid IN (
        SELECT rowid FROM sessions WHERE expires_at <= :now LIMIT :limit
    )
"""
LIST = """
    SELECT id, CAST(last_used AS REAL), CAST(expires_at AS REAL), data, expires_at
    FROM sessions
    WHERE expires_at > :now AND (expires_at, id) > (:after_expiry, :after_id)
    ORDER BY expires_at, id
    LIMIT :limit
"""


_WRITE_TURNS: dict[str, threading.Lock] = {}
_WRITE_TURNS_LOCK = threading.Lock()


def _execute(
    connection: sqlite3.Connection, sql: str, params: dict[str, Any]
) -> tuple[list[Any], int]:
    """Run one statement: all its rows (reading them finishes it) and its row count.

    While another process holds the file's lock, the statement is tried again after a short
    random pause (``BUSY_PAUSE_FIRST`` doubling up to ``BUSY_PAUSE_MAX``), for up to
    ``BUSY_TIMEOUT``; then its ``SQLITE_BUSY`` is raised.
    """
    deadline = 0.0
    pause = BUSY_PAUSE_FIRST
    while True:
        try:
            cursor = connection.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            now = time.monotonic()
            if not deadline:
                deadline = now + BUSY_TIMEOUT
            elif now >= deadline:
                raise
        time.sleep(random.uniform(0, pause))
        pause = min(BUSY_PAUSE_MAX, pause * 2)


def _write_turn(path: Path) -> threading.Lock:
    """The lock this process's writers to the file at ``path`` take turns on."""
    key = os.path.realpath(path)
    with _WRITE_TURNS_LOCK:
        return _WRITE_TURNS.setdefault(key, threading.Lock())


def _busy(error: sqlite3.OperationalError) -> bool:
    """Whether ``error`` says another connection holds the lock (``SQLITE_BUSY_*``)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class SqliteStore(SessionStore):
    """Sessions in the SQLite file ``path`` (created with its folder when missing)."""

    kind = "sqlite"

    def __init__(
        self,
        path: str | Path,
        ttl: float,
        clock: Clock = time.time,
        *,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
        must_exist: bool = False,
    ) -> None:
        super().__init__(ttl, clock, cleanup_interval=cleanup_interval)
        if str(path) in ("", ":memory:"):
            raise StoreError(f"session store path {str(path)!r} is not a file; use type memory")
        self.path = Path(path)
        if must_exist and not self.path.is_file():
            raise StoreError(f"no session store at {self.path}: nothing has been stored there")
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._open: set[sqlite3.Connection] = set()
        """Every connection to the file now at ``path``, pooled or borrowed."""
        self._lock = threading.RLock()
        self._turn = _write_turn(self.path)
        self._writes = itertools.count(1)
        self._closed = False
        self._watched: int | None = None
        """A descriptor of the file the store opened, to see it lose its name (``_gone``).
        Closed only once that file is gone or the store closes: closing a descriptor drops
        every POSIX lock this process holds on the file, SQLite's included."""
        self._build()

    def _build(self) -> None:
        """Create the folder, the file and its table (when missing); remember the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"session store {self.path}: {exc.strerror}") from exc
        with self._turn:
            for statement in ("PRAGMA journal_mode=WAL", BUILD_TABLE, BUILD_INDEX):
                self._run(statement, {}, turn=False, watch=False)
        try:
            self._watched = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise StoreError(f"session store {self.path}: {exc.strerror}") from exc

    def _gone(self) -> bool:
        """Whether the file the store opened has lost its name: deleted or renamed over."""
        return self._watched is not None and os.fstat(self._watched).st_nlink == 0

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=0, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")  # see _run
        with self._lock:
            self._open.add(connection)
        return connection

    def _drop(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            self._open.discard(connection)
        connection.close()

    def _borrow(self, watch: bool) -> sqlite3.Connection:
        """A connection from the pool (or a new one), after checking, when ``watch``, that
        the file the store opened still has its name (see ``_gone``)."""
        if self._closed:
            raise StoreError(f"session store {self.path} is closed")
        try:
            watched = self._watched
            if watch and watched is not None and os.fstat(watched).st_nlink == 0:
                self._reopen()
            try:
                return self._pool.get_nowait()
            except queue.Empty:
                return self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"session store {self.path}: {exc}") from exc

    def _run(
        self, sql: str, params: dict[str, Any], *, turn: bool, watch: bool = True
    ) -> tuple[list[Any], int]:
        """Run one statement on a borrowed connection: its rows and its row count. With
        ``turn``, a write of a session, it runs in this process's turn on the file and counts
        towards the next checkpoint; a connection whose statement failed is closed instead of
        going back to the pool.

        Every ``CHECKPOINT_EVERY`` writes, the writer then checkpoints the WAL, after its
        turn: SQLite's own checkpoint would run inside the write that fills the WAL, with
        its ``fsync`` calls, while every other writer of the process waits for the turn.
        """
        connection = self._borrow(watch)
        try:
            if not turn:
                done = _execute(connection, sql, params)
            else:
                with self._turn:
                    done = _execute(connection, sql, params)
                if next(self._writes) % CHECKPOINT_EVERY == 0:
                    with suppress(sqlite3.Error):  # committed already; the next one tries again
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            self._drop(connection)
            raise StoreError(f"session store {self.path}: {exc}") from exc
        except BaseException:
            self._give_back(connection)
            raise
        self._give_back(connection)
        return done

    def _give_back(self, connection: sqlite3.Connection) -> None:
        if connection in self._open:
            self._pool.put(connection)
        else:  # it belongs to a file the store has left
            connection.close()

    def _reopen(self) -> None:
        """The file the store opened is gone: say so, leave it, open the one at ``path``."""
        with self._lock:
            if not self._gone():
                return  # another thread reopened it
            if not self.path.exists():
                logger.error(
                    "session store %s was deleted while in use: its sessions are gone; "
                    "a new, empty store is created there",
                    self.path,
                )
            else:
                logger.error(
                    "session store %s was replaced by another file while in use; "
                    "the old file's journal is removed and the new file is used",
                    self.path,
                )
            self._open = set()  # borrowed ones are closed when they come back (_give_back)
            while True:
                try:
                    self._pool.get_nowait().close()
                except queue.Empty:
                    break
            self._unwatch()
            for suffix in JOURNAL_SUFFIXES:
                with suppress(FileNotFoundError):
                    os.remove(f"{self.path}{suffix}")
            self._build()

    def _read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Run one read statement; its rows."""
        return self._run(sql, params, turn=False)[0]

    def _write(self, sql: str, params: dict[str, Any]) -> tuple[list[Any], int]:
        """Run one write statement in this process's turn; its rows and its row count."""
        return self._run(sql, params, turn=True)

    def load(self, session_id: str) -> Snapshot | None:
        rows = self._read(LOAD, {"id": session_id, "now": self.clock()})
        if not rows:
            return None
        text, version, expires_at = rows[0]
        if not isinstance(text, str | bytes):
            raise StoreError(f"session {session_id!r} is unreadable: its data is not text")
        if not isinstance(version, int) or not isinstance(expires_at, int | float):
            raise StoreError(
                f"session {session_id!r} is unreadable: its version or expiry is not a number"
            )
        return Snapshot(codec.decode(session_id, text), version, float(expires_at))

    def save(self, session_id: str, data: dict[str, Any], version: int) -> int:
        now = self.clock()
        params = {
            "id": session_id,
            "data": codec.encode(session_id, data),
            "now": now,
            "expires_at": now + self.ttl,
            "version": version,
        }
        rows, _ = self._write(UPDATE if version else CREATE, params)
        if not rows:
            raise conflict(session_id, version)
        new_version: int = rows[0][0]
        return new_version

    def touch(self, session_id: str) -> bool:
        now = self.clock()
        _, count = self._write(TOUCH, {"id": session_id, "now": now, "expires_at": now + self.ttl})
        return count == 1

    def delete(self, session_id: str) -> bool:
        rows, _ = self._write(DELETE, {"id": session_id, "now": self.clock()})
        return bool(rows and rows[0][0])

    def purge_batch(self, limit: int) -> int:
        _, count = self._write(PURGE, {"now": self.clock(), "limit": limit})
        return count

    def sessions(self) -> Iterator[SessionInfo]:
        now = self.clock()
        after: tuple[object, str] = (now, "")
        while True:
            params = {"now": now, "after_expiry": after[0], "after_id": after[1]}
            rows = self._read(LIST, {**params, "limit": LIST_PAGE_SIZE})
            for session_id, last_used, expires_at, text, _ in rows:
                yield SessionInfo(
                    session_id, last_used, expires_at, codec.key_count(session_id, text)
                )
            if len(rows) < LIST_PAGE_SIZE:
                return
            after = (rows[-1][4], rows[-1][0])

    def check(self) -> None:
        """Write to the file: ``StoreError`` naming it when it cannot be written."""
        try:
            self._write(PROBE_WRITE, {})
        except StoreError as exc:
            raise StoreError(f"session store {self.path} is not writable: {exc.__cause__}") from exc

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, None
        if watched is not None:
            os.close(watched)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            connections, self._open = self._open, set()
            for connection in connections:
                connection.close()
            self._unwatch()
