"""SPEC §9: what one expression may cost, as named defaults and the :class:`Limits` they fill."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SOURCE = 10_000
MAX_NODES = 2_000
MAX_DEPTH = 100
MAX_SIZE = 1_000_000
MAX_PATTERN = 1_000
REGEX_TIMEOUT = 0.25
PREDICATE_TIMEOUT = 1.0
MAX_TEMPLATE = 100_000
MAX_BLOCKS = 1_000


@dataclass(frozen=True, slots=True)
class Limits:
    """The costs an Engine allows; a breach is a :class:`~kdeps_expr.errors.LimitError`.

    ``max_size`` bounds each string or list an expression builds, and also everything one
    evaluation builds in all (its budget: ranges, ``repeat``, ``+``, ``map``, …).
    ``predicate_timeout`` bounds the wall time of one predicate call (``filter``, ``map``,
    ``count``, …) including the predicates nested in it and the regular expressions they
    run: every other limit is on size, and only nested iteration can still take long.
    ``max_template`` and ``max_blocks`` bound a template's text and its ``{{ }}`` blocks.
    """

    max_source: int = MAX_SOURCE
    max_nodes: int = MAX_NODES
    max_depth: int = MAX_DEPTH
    max_size: int = MAX_SIZE
    max_pattern: int = MAX_PATTERN
    regex_timeout: float = REGEX_TIMEOUT
    predicate_timeout: float = PREDICATE_TIMEOUT
    max_template: int = MAX_TEMPLATE
    max_blocks: int = MAX_BLOCKS
