"""Chat backends: where a ``chat`` resource's rendered prompt goes."""

from __future__ import annotations

from .base import ChatBackend, ChatRequest
from .echo import EchoChat

__all__ = ["ChatBackend", "ChatRequest", "EchoChat"]
