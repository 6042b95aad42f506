"""The chat seam: what a resource asks of a model (ChatRequest) and what comes back (ChatReply).

A :class:`ChatRequest` carries what one ``chat`` block asks, already rendered: the prompt,
the scenario messages, the model and every option the resource sets (``None`` where it
sets none, so ``settings.llm``, the environment and the built-in defaults apply; see
:mod:`.calls`). :class:`~.service.ChatService` sends it and answers a :class:`ChatReply`,
whose ``output`` is what ``get('<actionId>')`` reads and whose ``data`` is what a chat
target without ``apiResponse`` answers (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the conversation: a ``scenario`` item or the prompt itself.

    ``name`` is the scenario item's optional ``name`` (sent where the API has one).
    """

    role: str
    content: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Sampling:
    """How the model generates: the options each backend sends under its own names.

    ``temperature``, ``maxTokens``, ``topP``, ``seed``, ``contextLength``,
    ``frequencyPenalty`` and ``presencePenalty`` of a chat block or of ``settings.llm``;
    ``None`` leaves the choice to the next place (and, in the end, to the model's server).
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    context_length: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None

    def named(self, names: Mapping[str, str]) -> dict[str, Any]:
        """The options that are set, under an API's ``names`` (field → the API's name);
        a field ``names`` leaves out is not sent."""
        values = ((name, getattr(self, field)) for field, name in names.items())
        return {name: value for name, value in values if value is not None}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One ``chat`` block, rendered: the prompt, its messages and the resource's options.

    The first six fields keep the order the runner passes them in. ``timeout`` is in
    seconds; ``scenario`` holds the rendered scenario items in the order written;
    ``streaming`` asks the backend to stream (the reply is the same, accumulated). The API
    key and the base URL (which may hold a password) are left out of ``repr``.
    """

    prompt: str
    action_id: str
    model: str | None = None
    role: str | None = None
    backend: str | None = None
    timeout: float | None = None
    base_url: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    scenario: tuple[Message, ...] = ()
    json_response: bool = False
    json_response_keys: tuple[str, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    streaming: bool | None = None


@dataclass(frozen=True, slots=True)
class ChatReply:
    """What a model answered: its text, the model that wrote it, and the parsed JSON.

    ``parsed`` is the JSON object of a ``jsonResponse`` reply (kept to the
    ``jsonResponseKeys`` when there are some), ``None`` otherwise.
    """

    text: str
    model: str
    parsed: dict[str, Any] | None = None

    @property
    def output(self) -> Any:
        """``get('<actionId>')``: KDeps' response object, or the parsed JSON object."""
        if self.parsed is not None:
            return self.parsed
        return {"message": {"role": "assistant", "content": self.text}, "model": self.model}

    @property
    def data(self) -> Any:
        """What a chat target without ``apiResponse`` answers: the text, or the parsed object."""
        return self.text if self.parsed is None else self.parsed
