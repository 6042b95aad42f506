"""Chat backends: where a ``chat`` resource's rendered prompt goes, and what comes back."""

from __future__ import annotations

from .base import ChatBackend, ChatReply, ChatRequest, Message, Sampling
from .calls import ChatCall
from .echo import EchoChat
from .options import LLMSettings, OptionError, validate_option
from .service import ChatService
from .transport import RetryPolicy

__all__ = [
    "ChatBackend",
    "ChatCall",
    "ChatReply",
    "ChatRequest",
    "ChatService",
    "EchoChat",
    "LLMSettings",
    "Message",
    "OptionError",
    "RetryPolicy",
    "Sampling",
    "validate_option",
]
