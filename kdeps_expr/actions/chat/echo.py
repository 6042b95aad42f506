"""The offline chat backend: the reply is the rendered prompt itself."""

from __future__ import annotations

from typing import Any

from .base import ChatRequest


class EchoChat:
    """The offline default: replies with the rendered prompt itself."""

    def reply(self, request: ChatRequest) -> Any:
        return request.prompt
