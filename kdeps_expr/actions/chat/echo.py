"""The offline chat backend: the reply is the rendered prompt itself.

:class:`EchoChat` is the default of the runner's ``reply`` seam (:class:`~.base.ChatBackend`),
whose value is the output as it is. :class:`~.service.ChatService` answers the same text
for ``backend: echo``, inside KDeps' response object.
"""

from __future__ import annotations

from typing import Any

from .base import ChatRequest


class EchoChat:
    """The offline default: replies with the rendered prompt itself."""

    def reply(self, request: ChatRequest) -> Any:
        return request.prompt
