"""Chat backends: where a ``chat`` resource's rendered prompt goes, and what comes back.

``ChatBackend`` and ``EchoChat``, the runner's former seam, are deprecated: reading either
name warns (``DeprecationWarning``); ``ChatBackend`` is now :class:`ChatService`, and
``EchoChat()`` a ChatService whose default backend is ``echo``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .base import ChatReply, ChatRequest, Message, Sampling
from .calls import ChatCall
from .options import LLMSettings, OptionError, validate_option
from .service import ChatService
from .transport import RetryPolicy

DEPRECATED = {
    "ChatBackend": "ChatBackend is deprecated: the runner takes a ChatService (docs/chat.md)",
    "EchoChat": (
        "EchoChat is deprecated: the runner makes a ChatService from settings.llm, and echo "
        "is the default backend (docs/chat.md)"
    ),
}
"""Names kept for older code, each with the warning reading it gives."""


def deprecated(name: str) -> Any:
    """What the deprecated ``name`` of :data:`DEPRECATED` stands for, with its warning
    (pointing at the code that read the name through a module ``__getattr__``)."""
    warnings.warn(DEPRECATED[name], DeprecationWarning, stacklevel=3)
    if name == "EchoChat":
        from .echo import EchoChat

        return EchoChat
    return ChatService


def __getattr__(name: str) -> Any:
    if name not in DEPRECATED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return deprecated(name)


__all__ = [
    "ChatCall",
    "ChatReply",
    "ChatRequest",
    "ChatService",
    "LLMSettings",
    "Message",
    "OptionError",
    "RetryPolicy",
    "Sampling",
    "validate_option",
]
