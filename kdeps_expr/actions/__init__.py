"""What a resource does besides expressions: its primary action (chat, and the executors)."""

from __future__ import annotations

ACTIONS_RUN = frozenset({"chat"})
"""The action types this engine runs. Every other KDeps action loads and is checked; a
request that reaches one answers 501 naming the resource and its type (SPEC §5)."""

__all__ = ["ACTIONS_RUN"]
