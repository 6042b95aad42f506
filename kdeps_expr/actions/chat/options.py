"""Chat options: the values each key accepts, and ``settings.llm``, the workflow's defaults.

:func:`validate_option` is the one place that knows what ``backend``, ``timeout``,
``temperature`` … may hold. The loader calls it for each option a resource writes as a
plain value, :meth:`LLMSettings.from_mapping` for each key of ``settings.llm``, and
:mod:`.calls` again at run time for the values a template produced. A bad value raises
:class:`OptionError`, whose ``key`` names the option so a loader can point at it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...durations import parse_duration
from ...errors import WorkflowError
from .base import Sampling

BACKENDS = ("echo", "ollama", "openai", "anthropic")
"""The backends this engine runs; ``echo`` is the default."""

ROLES = ("user", "assistant", "system")
"""The roles of the prompt message and of scenario items."""

OPENAI_COMPATIBLE = (
    "deepseek",
    "groq",
    "mistral",
    "openrouter",
    "perplexity",
    "together",
    "vllm",
    "xai",
)
"""KDeps backend names of services that speak OpenAI's protocol: ``openai`` + baseUrl."""

IGNORED_SETTINGS = frozenset({"executionType", "prompt", "sessionId"})
"""Keys of KDeps' own ``settings.llm`` (its interactive input), accepted and ignored."""

DEFAULT_TIMEOUT = 60.0
"""KDeps' chat timeout, in seconds."""

DEFAULT_RETRIES = 2
"""Retries after a first attempt that answered 408, 429 or 5xx, or could not connect."""

MAX_RETRIES = 10


class OptionError(WorkflowError):
    """A chat option with a value it cannot take; ``key`` names the option (``timeout``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _backend(value: Any) -> str:
    text = _text(value)
    if text in BACKENDS:
        return text
    if text.lower() in OPENAI_COMPATIBLE:
        raise ValueError(
            f"backend {text!r} is not run here; it speaks OpenAI's protocol: "
            "use backend 'openai' with its baseUrl"
        )
    raise ValueError(f"unknown backend {text!r}{_suggest(text, BACKENDS)}")


def _role(value: Any) -> str:
    text = _text(value)
    if text not in ROLES:
        raise ValueError(f"unknown role {text!r}{_suggest(text, ROLES)}")
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_kind(value)} {value!r}")
    return value


def _secret(value: Any) -> str:
    """An API key: text, and a message that never quotes it."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_kind(value)}")
    return value


def _timeout(value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except WorkflowError as exc:
        raise ValueError(exc.message) from None
    if seconds <= 0:
        raise ValueError(f"the timeout {value!r} must be longer than zero")
    return seconds


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number from {low:g} to {high:g}, got {_kind(value)}")
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{value!r} is outside {low:g} to {high:g}")
        return value

    return check


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {_kind(value)} {value!r}")
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"{value} is not {bound}")
        return value

    return check


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # KDeps accepts the strings too
        return bool(value == "true")
    raise ValueError(f"expected true or false, got {_kind(value)} {value!r}")


def _keys(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"expected a list of key names, got {_kind(value)} {value!r}")
    return tuple(value)


def _kind(value: Any) -> str:
    names = {type(None): "nothing", bool: "a boolean", str: "text", list: "a list", dict: "a map"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _suggest(text: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(text, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; known: {', '.join(sorted(known))}"


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "backend": _backend,
    "baseUrl": _text,
    "apiKey": _secret,
    "model": _text,
    "role": _role,
    "timeout": _timeout,
    "timeoutDuration": _timeout,
    "temperature": _number(0, 2),
    "maxTokens": _integer(1),
    "topP": _number(0, 1),
    "seed": _integer(-(2**63), 2**63 - 1),
    "streaming": _flag,
    "contextLength": _integer(1),
    "frequencyPenalty": _number(-2, 2),
    "presencePenalty": _number(-2, 2),
    "jsonResponse": _flag,
    "jsonResponseKeys": _keys,
    "retries": _integer(0, MAX_RETRIES),
}


def validate_option(key: str, value: Any) -> Any:
    """``value`` checked and normalised for the chat option ``key`` (a duration → seconds).

    Raises :class:`OptionError` naming ``key`` when the value cannot be used, or when
    ``key`` is not an option this module checks.
    """
    check = _VALIDATORS.get(key)
    if check is None:
        raise OptionError(key, f"unknown chat option {key!r}{_suggest(key, tuple(_VALIDATORS))}")
    try:
        return check(value)
    except ValueError as exc:
        raise OptionError(key, str(exc)) from None


SAMPLING_KEYS = {
    "temperature": "temperature",
    "maxTokens": "max_tokens",
    "topP": "top_p",
    "seed": "seed",
    "contextLength": "context_length",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
}
"""The options that make up :class:`~.base.Sampling`: KDeps' name → the field."""

SETTINGS_KEYS = (
    "backend",
    "baseUrl",
    "apiKey",
    "model",
    "timeout",
    "timeoutDuration",
    "temperature",
    "maxTokens",
    "topP",
    "seed",
    "streaming",
    "contextLength",
    "frequencyPenalty",
    "presencePenalty",
    "retries",
)
"""The keys of ``settings.llm`` (besides :data:`IGNORED_SETTINGS`)."""


@dataclass(frozen=True, slots=True)
class LLMSettings:
    """``settings.llm``: the defaults of every chat resource of a workflow.

    Each field is used where a resource leaves its option out; ``None`` passes the choice
    on to the environment and the built-in defaults. :meth:`from_mapping` checks every
    value; the constructor trusts its arguments. The API key and the base URL (which may hold a
    password) are left out of ``repr``.
    """

    backend: str | None = None
    base_url: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    timeout: float | None = None
    sampling: Sampling = field(default_factory=Sampling)
    streaming: bool | None = None
    retries: int | None = None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> LLMSettings:
        """The settings ``mapping`` (``settings.llm`` as written) holds.

        ``timeoutDuration`` is an alias of ``timeout`` (and wins when both are given).
        KDeps' own ``settings.llm`` keys (``executionType``, ``prompt``, ``sessionId``)
        are accepted and ignored. Raises :class:`OptionError` at the first bad or unknown
        key.
        """
        if mapping is None:
            return cls()
        values: dict[str, Any] = {}
        sampling: dict[str, Any] = {}
        for key, value in mapping.items():
            if key in IGNORED_SETTINGS:
                continue
            if key not in SETTINGS_KEYS:
                raise OptionError(
                    key, f"unknown key {key!r} in settings.llm{_suggest(key, SETTINGS_KEYS)}"
                )
            if value is None:
                continue
            if key in SAMPLING_KEYS:
                sampling[SAMPLING_KEYS[key]] = validate_option(key, value)
            else:
                values[_FIELDS.get(key, key)] = validate_option(key, value)
        duration = mapping.get("timeoutDuration")
        if duration is not None:  # KDeps: timeoutDuration wins over timeout
            values["timeout"] = validate_option("timeoutDuration", duration)
        return cls(sampling=Sampling(**sampling), **values)


_FIELDS = {"baseUrl": "base_url", "apiKey": "api_key", "timeoutDuration": "timeout"}
