"""ChatService: every chat call of a process, from a ChatRequest to a ChatReply.

It holds the workflow's ``settings.llm`` and the environment variables the backends
read (taken once, when it is made), resolves each request's defaults
(:func:`~.calls.resolve`), and sends it: ``echo`` answers the rendered prompt without a
network call; ``ollama``, ``openai`` and ``anthropic`` go through one
:class:`~.transport.HttpTransport` each, made on first use and kept (with its
keep-alive connections) until :meth:`ChatService.close`. One service serves every
thread of a server at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from types import TracebackType

from .anthropic import AnthropicWire
from .base import ChatReply, ChatRequest
from .calls import DEFAULT_BACKEND, ENVIRONMENT, ChatCall, resolve
from .ollama import OllamaWire
from .openai import OpenAIWire
from .options import LLMSettings
from .reading import ReplyError
from .replies import reply
from .transport import HttpTransport, RetryPolicy, Wire

WIRES: dict[str, Wire] = {
    "ollama": OllamaWire(),
    "openai": OpenAIWire(),
    "anthropic": AnthropicWire(),
}


class ChatService:
    """Sends chat requests with a workflow's defaults; thread-safe, one per process.

    ``environ`` defaults to the process environment; ``retry`` sets the backoff (the
    number of retries is ``settings.llm.retries``).
    """

    def __init__(
        self,
        settings: LLMSettings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings or LLMSettings()
        source = os.environ if environ is None else environ
        self._environ = {name: source[name] for name in ENVIRONMENT if name in source}
        self._retry = retry or RetryPolicy()
        self._transports: dict[str, HttpTransport] = {}
        self._lock = threading.Lock()

    def resolve(self, request: ChatRequest) -> ChatCall:
        """The call ``request`` makes: every default applied, the messages in order."""
        return resolve(request, self.settings, self._environ)

    def send(self, request: ChatRequest) -> ChatReply:
        """The model's reply to ``request``.

        Raises :class:`~kdeps_expr.actions.failures.ExecutorError` (an ``ActionError``):
        502 when the model's server cannot be reached, answers an error or a reply that
        cannot be used (not the JSON object ``jsonResponse`` asked for, included); 504 when
        the timeout passes; 500 when an option cannot be used. The message names the
        resource, backend and model.
        """
        call = self.resolve(request)
        if call.backend == DEFAULT_BACKEND:
            text, model = request.prompt, call.model
        else:
            completion = self._transport(call.backend).complete(call, WIRES[call.backend])
            text, model = completion.text, completion.model or call.model
        try:
            return reply(text, model, call.json_response, call.json_response_keys)
        except ReplyError as exc:
            raise call.failure(str(exc)) from None

    def _transport(self, backend: str) -> HttpTransport:
        transport = self._transports.get(backend)
        if transport is None:
            with self._lock:
                transport = self._transports.get(backend)
                if transport is None:
                    transport = self._transports[backend] = HttpTransport(self._retry)
        return transport

    def close(self) -> None:
        """Close every backend's connections (a later call opens new ones)."""
        with self._lock:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()

    def __enter__(self) -> ChatService:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
