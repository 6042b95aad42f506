"""Keeping Python's cyclic garbage collector out of the way: paused while a workflow
loads, and, in a server, kept away from everything loaded.

A loaded workflow is tens of thousands of objects (located YAML nodes, syntax nodes,
closures) that live as long as the workflow, and a collection walks the objects it
tracks. During a load, each automatic pass walked again all that was made so far
(``benchmarks/bench_runner.py``); while serving, a full pass stalled every request in
flight (``benchmarks/bench_server.py``: a p99 of 42 ms for the cart's SQLite views
against a p50 of 3 ms, and 5 ms once the workflow was frozen).
"""

from __future__ import annotations

import gc
import threading


class _CollectorPause:
    """A context manager that pauses the collector while loads run. Reference counting
    still frees what dies at once; cycles wait for the first collection after the load.
    Loads in several threads share one pause, and a collector someone else switched off
    stays off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loads = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            self._loads += 1
            if self._loads == 1:
                self._resume = gc.isenabled()
                gc.disable()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._loads -= 1
            if self._loads == 0 and self._resume:
                gc.enable()


collector_paused = _CollectorPause()
"""``with collector_paused:`` around a load (``workflow/loader.py``)."""


def settle_heap() -> None:
    """Collect what is garbage now, then freeze every live object (``gc.freeze``): full
    passes skip them from here on. Reference counting still frees a frozen object that
    dies; only its cycles would stay, so a reload calls this again, which unfreezes and
    collects first, and the workflow it replaced goes. Called before any worker is forked,
    it also keeps the collector from touching, and so copying, the pages they share."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
