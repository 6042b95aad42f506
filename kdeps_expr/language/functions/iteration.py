"""KDeps' iteration objects (SPEC §10): ``item`` inside a resource's ``items`` and ``loop``
inside its ``loop``, with their methods (``item.current()``, ``loop.index()``, …).

The runner puts the iteration in the :class:`Context` (``ctx.item``, ``ctx.loop``); outside
one, ``item`` and ``loop`` are nil and their methods answer as KDeps' do: nil for a value,
0 for a position or a count, ``[]`` for a list.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from .base import builtin, kdeps_object, key_arg

ITEM_FIELDS = ("current", "prev", "next", "index", "count", "all")
"""What an iteration knows about its item, by the names of ``get(name)`` and ``info(name)``."""


def item_field(ctx: Context, field: str) -> Any:
    """One of :data:`ITEM_FIELDS` of the running ``items`` iteration; nil outside one."""
    frame = ctx.item
    if frame is None:
        return None
    items, index = frame.items, frame.index
    if field == "index":
        return index
    if field == "count":
        return len(items)
    if field == "all":
        return items
    position = {"current": index, "prev": index - 1, "next": index + 1}[field]
    return items[position] if 0 <= position < len(items) else None


def item_outputs(ctx: Context, action_id: str) -> list[Any] | None:
    """The per-item outputs of the ``items`` resource ``action_id`` (its output, SPEC §10);
    ``None`` when it has not run or its output is not a list."""
    found = ctx.outputs.get(action_id)
    return found if type(found) is list else None


@kdeps_object("item")
def item_object(ctx: Context) -> Any:
    """``item``: the current item (so ``item.org`` reads a member of it); nil outside."""
    return item_field(ctx, "current")


@builtin("item.current", pass_context=True)
def item_current(ctx: Context) -> Any:
    """The item of this iteration; nil outside an iteration."""
    return item_field(ctx, "current")


@builtin("item.prev", pass_context=True)
def item_prev(ctx: Context) -> Any:
    """The item before this one; nil for the first."""
    return item_field(ctx, "prev")


@builtin("item.next", pass_context=True)
def item_next(ctx: Context) -> Any:
    """The item after this one; nil for the last."""
    return item_field(ctx, "next")


@builtin("item.index", pass_context=True)
def item_index(ctx: Context) -> int:
    """The position of this item, from 0; 0 outside an iteration."""
    return ctx.item.index if ctx.item is not None else 0


@builtin("item.count", pass_context=True)
def item_count(ctx: Context) -> int:
    """How many items the iteration has; 0 outside an iteration."""
    return len(ctx.item.items) if ctx.item is not None else 0


@builtin("item.values", pass_context=True)
def item_values(ctx: Context, action_id: Any = None) -> Any:
    """Every item of this iteration; with an actionId, the per-item outputs of that
    resource's iteration (its output, SPEC §10)."""
    if action_id is None:
        return item_field(ctx, "all") if ctx.item is not None else []
    return item_outputs(ctx, key_arg("item.values", action_id))


@kdeps_object("loop")
def loop_object(ctx: Context) -> Any:
    """``loop``: ``{index, count, results}`` of the running loop iteration; nil outside."""
    frame = ctx.loop
    if frame is None:
        return None
    return {"index": frame.index, "count": frame.index + 1, "results": frame.results}


@builtin("loop.index", pass_context=True)
def loop_index(ctx: Context) -> int:
    """The iteration number, from 0; 0 outside a loop."""
    return ctx.loop.index if ctx.loop is not None else 0


@builtin("loop.count", pass_context=True)
def loop_count(ctx: Context) -> int:
    """The iteration number, from 1; 0 outside a loop."""
    return ctx.loop.index + 1 if ctx.loop is not None else 0


@builtin("loop.results", pass_context=True)
def loop_results(ctx: Context) -> list[Any]:
    """The outputs of the iterations before this one; ``[]`` outside a loop."""
    return ctx.loop.results if ctx.loop is not None else []
