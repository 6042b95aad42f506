"""Keeping the garbage collector's full passes short while a server runs.

A full collection walks every object the collector tracks. A loaded workflow is tens of
thousands of them (located YAML nodes, syntax nodes, closures), all alive until the
process ends, so each full pass while serving stalled every request in flight: on the
cart, ``benchmarks/bench_server.py`` measured a p99 of 42 ms for SQLite views against a
p50 of 3 ms, and 5 ms once the workflow was out of the collector's reach.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what is garbage now, then freeze every live object (``gc.freeze``): full
    passes skip them from here on. Reference counting still frees a frozen object that
    dies; only its cycles would stay, so a reload calls this again, which unfreezes and
    collects first, and the workflow it replaced goes. Called before any worker is forked,
    it also keeps the collector from touching, and so copying, the pages they share."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
