"""settle_heap: garbage collected, every live object frozen out of the collector's walks."""

from __future__ import annotations

import gc
import weakref

from kdeps_expr.heap import settle_heap


class Cycle:
    """An object that refers to itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_settle_heap_collects_cycles_and_freezes_what_lives() -> None:
    garbage = Cycle()
    dead = weakref.ref(garbage)
    del garbage
    kept = Cycle()
    try:
        settle_heap()
        assert dead() is None
        assert gc.get_freeze_count() > 0
        assert not any(tracked is kept for tracked in gc.get_objects())  # frozen: not walked
    finally:
        gc.unfreeze()
    assert any(tracked is kept for tracked in gc.get_objects())


def test_settling_again_collects_cycles_that_died_frozen() -> None:
    frozen = Cycle()
    dead = weakref.ref(frozen)
    try:
        settle_heap()
        del frozen  # a reload drops the workflow it replaced, frozen at the start
        gc.collect()
        assert dead() is not None  # out of the collector's reach while frozen
        settle_heap()
        assert dead() is None
    finally:
        gc.unfreeze()
