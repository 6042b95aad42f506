"""EchoChat, deprecated: the runner's offline default before it held a ChatService.

The runner now makes its own :class:`~.service.ChatService` from ``settings.llm``, and
``echo`` is the default backend, so a workflow that names no backend answers the rendered
prompt without any of this. Reach this class through ``kdeps_expr.EchoChat`` or
``kdeps_expr.actions.chat.EchoChat``, which warn (``DeprecationWarning``).
"""

from __future__ import annotations

from .options import LLMSettings
from .service import ChatService


class EchoChat(ChatService):
    """Deprecated: a :class:`~.service.ChatService` whose every default is the ``echo``
    backend (a resource that names another backend still reaches it)."""

    def __init__(self) -> None:
        super().__init__(LLMSettings(backend="echo"), environ={})
