"""The background thread that deletes expired sessions of a long-running process."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from ..errors import StoreError
from .base import CLEANER_DUTY, PURGE_BATCH_SIZE, SessionStore

_log = logging.getLogger(__name__)


class Cleaner:
    """Calls ``store.purge_expired`` every ``interval`` seconds on a daemon thread.

    ``interval`` defaults to the store's ``cleanup_interval`` (``settings.session.
    cleanupInterval``). The purge writes at most ``duty`` of the time (5% by default), so
    a burst of expired sessions is deleted a little more slowly instead of holding up
    requests. A failing purge is logged and tried again at the next interval; it never
    stops the thread. ``purged`` counts the sessions deleted so far. Use it as a context
    manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        store: SessionStore,
        interval: float | None = None,
        *,
        batch_size: int = PURGE_BATCH_SIZE,
        duty: float = CLEANER_DUTY,
    ) -> None:
        self.store = store
        self.interval = store.cleanup_interval if interval is None else interval
        self.batch_size = batch_size
        self.duty = duty
        self.purged = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kdeps-session-cleaner", daemon=True)

    def _run(self) -> None:
        # Event.wait overflows past TIMEOUT_MAX (about 292 years); such an interval is
        # waited as TIMEOUT_MAX rather than ending the thread with a traceback.
        while not self._stopping.wait(min(self.interval, threading.TIMEOUT_MAX)):
            try:
                count = self.store.purge_expired(
                    self.batch_size, duty=self.duty, stop=self._stopping
                )
            except StoreError as exc:
                _log.warning("session cleanup failed: %s", exc)
                continue
            self.purged += count
            if count:
                _log.info("deleted %d expired sessions", count)

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def start(self) -> Cleaner:
        """Start the thread; returns ``self``."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """End the thread (a running purge stops after its batch); wait up to ``timeout``."""
        self._stopping.set()
        self._thread.join(timeout)

    def __enter__(self) -> Cleaner:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
