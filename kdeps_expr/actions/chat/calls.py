"""A chat request with every default applied (ChatCall), and the failures that name it.

Each option is taken from the first place that sets it:

1. the resource (its ``chat`` block; an empty text, such as a template that rendered
   nothing, counts as not set);
2. ``settings.llm`` (:class:`~.options.LLMSettings`);
3. the environment: ``KDEPS_DEFAULT_BACKEND``; the backend's base URL (``OLLAMA_HOST``,
   ``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``) and key (``OPENAI_API_KEY``,
   ``ANTHROPIC_API_KEY``);
4. the built-in default: backend ``echo``, the vendor's public URL, a 60 s timeout, two
   retries, no streaming.

``settings.llm``'s ``model``, ``baseUrl`` and ``apiKey`` belong to its ``backend``: a
resource that picks another backend does not inherit them (one provider's key is never
sent to another provider).

A base URL may be given with or without the API's version (``http://host:8000`` and
``http://host:8000/v1`` reach the same ``/v1/chat/completions``), or as the whole
endpoint. ``OLLAMA_HOST`` (and any Ollama base) is read as Ollama's own clients read it:
``host``, ``host:port`` or ``:port`` without a scheme mean ``http`` on port 11434.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ..failures import REDACTED, UPSTREAM, ExecutorError
from .base import ChatRequest, Message, Sampling
from .messages import conversation
from .options import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    SAMPLING_KEYS,
    LLMSettings,
    OptionError,
    validate_option,
)

BACKEND_ENV = "KDEPS_DEFAULT_BACKEND"
DEFAULT_BACKEND = "echo"


@dataclass(frozen=True, slots=True)
class _Vendor:
    base: str
    base_env: str | None
    key_env: str | None


VENDORS = {
    "ollama": _Vendor("http://127.0.0.1:11434", "OLLAMA_HOST", None),
    "openai": _Vendor("https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "anthropic": _Vendor("https://api.anthropic.com", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
}
"""Per network backend: the public base URL and the environment variables read."""

ENVIRONMENT = (
    BACKEND_ENV,
    *(name for vendor in VENDORS.values() for name in (vendor.base_env, vendor.key_env) if name),
)
"""Every environment variable the chat backends read."""

_VERSION = re.compile(r"/v[0-9]+$")


@dataclass(slots=True)
class ChatCall:
    """One call, ready for the wire: the endpoint, the model, the messages and the options.

    Made for each call and never changed (not frozen only because a frozen dataclass of
    this size costs several µs more to build, on every call).

    ``url`` is the endpoint (empty for ``echo``); ``shown_url`` is the same without
    credentials or query, for messages and ``repr``; the API key and ``url`` (which may
    hold a password) are left out of ``repr``.
    """

    action_id: str
    backend: str
    model: str
    messages: tuple[Message, ...]
    url: str = field(default="", repr=False)
    shown_url: str = ""
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    streaming: bool = False
    json_response: bool = False
    json_response_keys: tuple[str, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)

    @property
    def prompt(self) -> str:
        """The last message's text (what the echo backend answers)."""
        return self.messages[-1].content if self.messages else ""

    def failure(self, reason: str, status: int = UPSTREAM) -> ExecutorError:
        """The error of this call: names the resource, backend, model and endpoint.

        ``chat failed in <actionId>: <backend> model '<model>' at <endpoint>: <reason>``,
        as every executor's failure reads. Any occurrence of the API key in ``reason`` (an
        upstream message may quote it) is replaced by ``[redacted]``.
        """
        where = f"{self.backend} model {self.model!r}"
        if self.shown_url:
            where += f" at {self.shown_url}"
        what = f"{where}: {redact(reason, self.api_key)}"
        return ExecutorError("chat", self.action_id, what, status=status)


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``[redacted]``."""
    return text.replace(secret, REDACTED) if secret else text


def resolve(request: ChatRequest, settings: LLMSettings, environ: Mapping[str, str]) -> ChatCall:
    """The call ``request`` makes once defaults apply (module docstring).

    Raises :class:`~kdeps_expr.actions.failures.ExecutorError` (500) naming the resource
    and the option when a value cannot be used, or a network backend has no model.
    """
    try:
        return _resolve(request, settings, environ)
    except OptionError as exc:
        raise ExecutorError("chat", request.action_id, f"{exc.key}: {exc.message}") from None


def _resolve(request: ChatRequest, settings: LLMSettings, environ: Mapping[str, str]) -> ChatCall:
    """:func:`resolve`; the request's values and the environment's are checked here, the
    settings' were checked when they were read (:meth:`LLMSettings.from_mapping`)."""
    backend: str = (
        _given("backend", request.backend)
        or settings.backend
        or _given("backend", environ.get(BACKEND_ENV))
        or DEFAULT_BACKEND
    )
    own = settings.backend in (None, backend)  # settings' connection belongs to its backend
    model = _given("model", request.model) or (settings.model if own else None)
    if request.role:
        validate_option("role", request.role)
    for message in request.scenario:
        validate_option("role", message.role)
    streaming, json_response, keys = (
        request.streaming,
        request.json_response,
        request.json_response_keys,
    )
    shared: dict[str, Any] = {
        "action_id": request.action_id,
        "backend": backend,
        "messages": conversation(request),
        "timeout": _seconds(request.timeout) if request.timeout is not None else settings.timeout,
        "retries": DEFAULT_RETRIES if settings.retries is None else settings.retries,
        "streaming": bool(settings.streaming) if streaming is None else _flag(streaming),
        "json_response": json_response
        if isinstance(json_response, bool)
        else validate_option("jsonResponse", json_response),
        "json_response_keys": validate_option("jsonResponseKeys", keys) if keys else (),
        "sampling": _sampling(request.sampling, settings.sampling),
    }
    if shared["timeout"] is None:
        shared["timeout"] = DEFAULT_TIMEOUT
    if backend == DEFAULT_BACKEND:
        return ChatCall(model=model or DEFAULT_BACKEND, **shared)
    if not model:
        raise OptionError(
            "model", f"the {backend} backend needs a model: set chat.model or settings.llm.model"
        )
    vendor = VENDORS[backend]
    base = (
        _given("baseUrl", request.base_url)
        or (settings.base_url if own else None)
        or _given("baseUrl", environ.get(vendor.base_env) if vendor.base_env else None)
        or vendor.base
    )
    key = (
        _given("apiKey", request.api_key)
        or (settings.api_key if own else None)
        or _given("apiKey", environ.get(vendor.key_env) if vendor.key_env else None)
    )
    url, shown = endpoint(backend, base)
    return ChatCall(model=model, url=url, shown_url=shown, api_key=key or None, **shared)


def _given(key: str, value: str | None) -> Any:
    """``value`` checked, or ``None`` when it is not set (``None`` or empty text)."""
    return None if value is None or value == "" else validate_option(key, value)


def _flag(value: Any) -> bool:
    return bool(validate_option("streaming", value))


_UNSET = Sampling()


def _sampling(request: Sampling, settings: Sampling) -> Sampling:
    """Each sampling option from the request (checked), else from the settings."""
    if request == _UNSET:
        return settings
    values = {}
    for key, name in SAMPLING_KEYS.items():
        value = getattr(request, name)
        values[name] = getattr(settings, name) if value is None else validate_option(key, value)
    return Sampling(**values)


def _seconds(seconds: Any) -> float:
    """A request's timeout (seconds, already parsed from a duration), checked."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not (number and 0 < seconds < math.inf):
        raise OptionError("timeout", f"the timeout {seconds!r} must be a number of seconds above 0")
    return float(seconds)


@functools.lru_cache(maxsize=256)
def endpoint(backend: str, base: str) -> tuple[str, str]:
    """The endpoint URL of ``backend`` under ``base``, and the same URL fit to show.

    Raises :class:`OptionError` (``baseUrl``) when ``base`` is not an http(s) URL.
    """
    parts = _ollama_host(base) if backend == "ollama" else urlsplit(base.strip())
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise OptionError("baseUrl", f"{_shown(parts)!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError("baseUrl", f"{_shown(parts)!r} is not an http or https URL")
    path = parts.path.rstrip("/")
    if backend == "ollama":
        if not path.endswith("/api/chat"):
            path = _VERSION.sub("", path)
            path += "/chat" if path.endswith("/api") else "/api/chat"
    elif backend == "openai":
        if not path.endswith("/chat/completions"):
            path += "/chat/completions" if _VERSION.search(path) else "/v1/chat/completions"
    elif not path.endswith("/v1/messages"):
        path += "/messages" if path.endswith("/v1") else "/v1/messages"
    parts = parts._replace(path=path)
    return urlunsplit(parts), _shown(parts)


def _ollama_host(text: str) -> SplitResult:
    """A base URL read as Ollama's clients read ``OLLAMA_HOST``."""
    text = text.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest, port = "http", text, 11434
    else:
        port = {"http": 80, "https": 443}.get(scheme, 0)
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or port
    except ValueError:
        return parts
    if ":" in host:
        host = f"[{host}]"
    user, _, _ = parts.netloc.rpartition("@")
    netloc = f"{user}@" if user else ""
    return parts._replace(netloc=f"{netloc}{host}:{port}")


def _shown(parts: SplitResult) -> str:
    """``parts`` as a URL without user, password, query or fragment."""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
