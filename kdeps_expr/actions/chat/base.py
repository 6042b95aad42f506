"""The chat seam: what a resource's ``chat`` block hands its rendered prompt to.

A chat backend is any object with ``reply(request) -> value``; the value becomes the
resource's output (``get('<actionId>')``) and must be a kdeps value (nil, bool, number,
string, list or map; anything else fails the request as a chat failure). The default,
:class:`~.echo.EchoChat`, makes no network call and replies with the rendered prompt, so
prompt rendering can be run and tested offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call: the rendered prompt and the block's settings, as the resource gives them.

    ``model`` is the rendered ``chat.model`` (``None`` when absent); ``role`` and
    ``backend`` are passed through as written; ``timeout`` is ``chat.timeoutDuration`` in
    seconds. ``action_id`` names the resource making the call.
    """

    prompt: str
    action_id: str
    model: str | None = None
    role: str | None = None
    backend: str | None = None
    timeout: float | None = None


class ChatBackend(Protocol):
    """Where rendered prompts go; one backend serves many threads at once."""

    def reply(self, request: ChatRequest) -> Any:
        """The reply to ``request``; an exception fails the request with a 500."""
        ...
