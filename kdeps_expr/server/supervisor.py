"""``serve --workers N``: N forked worker processes on one listening socket, kept running.

The parent binds the socket once (:func:`~.run.bind`), checks the session store, closes
it, and forks the workers; each inherits the listening socket and accepts connections
from it, and opens its own store connections, chat service and executor connections
after the fork, so no connection or pool crosses it. The kernel hands each connection
to whichever worker accepts it first.

Why one inherited socket rather than one ``SO_REUSEPORT`` socket per worker: the queue of
connections not yet accepted belongs to the one socket, so a worker that dies loses only
the connections it had accepted (with ``SO_REUSEPORT`` the connections queued on its own
socket are reset); the port stays held while a worker restarts; no other process can join
the port; and it means the same on every POSIX system (``SO_REUSEPORT`` balances only on
Linux). This is the model of gunicorn and of uvicorn's own ``--workers``. Forking rather
than starting fresh interpreters keeps the workflow the parent loaded, so every worker,
and one restarted later, serves the same version of it even if its files changed since.

The parent stays single-threaded (a fork copies only the forking thread) and supervises:

- SIGINT or SIGTERM: SIGTERM to every worker, which stops gracefully (requests in flight
  finish), then the parent returns; a second SIGINT or SIGTERM kills the workers.
- A worker that exits on its own, or is killed, is logged with its status and a new one
  starts in its slot. A worker that could not start (:data:`COULD_NOT_START`: its store
  would not open, the app failed its startup) would fail again: the server stops, with
  exit status 1.
- Each worker holds the reading end of a pipe whose writing end only the parent has: when
  the parent dies, even by SIGKILL, the workers see the pipe close and stop gracefully,
  so no worker outlives it.

The slot number (0 to N-1) is the worker's identity across restarts: ``work(slot)`` runs
the session cleaner in slot 0 only, so it runs once per server, and a restarted worker 0
starts it again.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from types import FrameType
from typing import Any

from .app import logger

COULD_NOT_START = 3
"""The exit status of a worker that failed before serving; the supervisor then stops."""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_HANDLED = (*_STOP_SIGNALS, signal.SIGCHLD)


def _noted(signum: int, frame: FrameType | None) -> None:
    """A Python-level handler, so that the signal reaches the wakeup pipe."""


class Supervisor:
    """Forks ``count`` workers, each running ``work(slot)``, and keeps them running.

    ``work(slot)`` runs in the child and returns True once it served and stopped (after
    SIGTERM), False when it could not start. :meth:`run` returns when every worker is gone.
    Call it from the main thread of a process that runs no other thread.
    """

    def __init__(self, count: int, work: Callable[[int], bool]) -> None:
        self.count = count
        self.work = work
        self.slots: dict[int, int] = {}
        """The live workers: pid -> slot."""
        self._parent_only: tuple[int, ...] = ()
        self._lifeline = -1
        self._handlers: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def run(self) -> int:
        """Start the workers and supervise them until they are gone; the exit status (0 after
        SIGTERM, 1 when a worker could not start). After SIGINT, raises KeyboardInterrupt
        once the workers have stopped, as a single server process does."""
        if threading.active_count() > 1:
            raise RuntimeError("a process that runs threads cannot fork workers safely")
        wake_read, wake_write = os.pipe()
        self._lifeline, lifeline_write = os.pipe()
        self._parent_only = (wake_read, wake_write, lifeline_write)
        for fd in (wake_read, wake_write):
            os.set_blocking(fd, False)
        self._handlers = {number: signal.getsignal(number) for number in _HANDLED}
        for number in _HANDLED:
            signal.signal(number, _noted)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        try:
            return self._supervise(wake_read)
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            self._restore_handlers()
            for fd in (*self._parent_only, self._lifeline):
                os.close(fd)

    def _supervise(self, wake_read: int) -> int:
        for slot in range(self.count):
            self._start(slot)
        stopping: int | None = None
        failed = False
        while self.slots:
            select.select([wake_read], [], [])
            with suppress(BlockingIOError):
                for number in os.read(wake_read, 256):
                    if number not in _STOP_SIGNALS:
                        continue
                    if stopping is None:
                        stopping = number
                        logger.info("stopping %d workers", len(self.slots))
                        self._signal_all(signal.SIGTERM)
                    else:
                        logger.warning("stopping %d workers now (killed)", len(self.slots))
                        self._signal_all(signal.SIGKILL)
            for pid, status in self._reap():
                slot = self.slots.pop(pid)
                if stopping is not None:
                    continue
                code = os.waitstatus_to_exitcode(status)
                if code == COULD_NOT_START:
                    logger.error("worker %d could not start: stopping the server", slot)
                    stopping, failed = signal.SIGTERM, True
                    self._signal_all(signal.SIGTERM)
                else:
                    logger.error(
                        "worker %d (pid %d) %s; starting a new one", slot, pid, _ended(code)
                    )
                    self._start(slot)
        if stopping == signal.SIGINT:
            raise KeyboardInterrupt
        return 1 if failed else 0

    def _start(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            self._child(slot)
        self.slots[pid] = slot
        logger.info("worker %d started (pid %d)", slot, pid)

    def _child(self, slot: int) -> None:
        """The worker's side of the fork: the parent's signal set-up undone, then ``work``;
        never returns."""
        status = COULD_NOT_START
        try:
            signal.set_wakeup_fd(-1)
            self._restore_handlers()
            for fd in self._parent_only:
                os.close(fd)
            _stop_with_parent(self._lifeline)
            status = 0 if self.work(slot) else COULD_NOT_START
        except KeyboardInterrupt:
            status = 0
        except BaseException:
            logger.exception("worker %d failed", slot)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _restore_handlers(self) -> None:
        """The signal handlers from before :meth:`run` (the default for one that was not
        set from Python)."""
        for number, handler in self._handlers.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def _signal_all(self, number: int) -> None:
        for pid in self.slots:
            with suppress(ProcessLookupError):
                os.kill(pid, number)

    def _reap(self) -> Iterator[tuple[int, int]]:
        """The workers that ended since the last call: (pid, wait status)."""
        while self.slots:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            if pid in self.slots:
                yield pid, status


def _stop_with_parent(lifeline: int) -> None:
    """SIGTERM this worker once ``lifeline`` closes: the parent is gone."""

    def wait() -> None:
        while os.read(lifeline, 1):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="kdeps-parent-watch", daemon=True).start()


def _ended(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
