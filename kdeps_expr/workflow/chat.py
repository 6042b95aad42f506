"""The chat action in a workflow (SPEC §5, §11): its keys checked at load, and at run time
rendered into a request, sent, and read back.

**At load**, once the schema has checked a ``chat`` block's keys and types,
:func:`check_chat` checks every option written as a plain value with
:func:`~kdeps_expr.actions.chat.validate_option` (the one place that knows what each
option may hold) and places its error at the value in the file; an option written as a
template or an expression is checked when a request renders it, and a bad value then
fails that request with 500 naming the option. :func:`read_llm_settings` checks
``settings.llm`` the same way, with :meth:`~kdeps_expr.actions.chat.LLMSettings.from_mapping`.
``check`` warns about an API key written in a file (and never shows it: the schema marks
``apiKey`` ``x-kdeps-secret``, see :mod:`.fields`), and about ``jsonResponseKeys`` without
``jsonResponse``. Chat keys this engine does not run (``tools``, ``files``, …) carry
their warning in the schema.

**At run time**, :func:`run_chat` renders the block (the prompt, each scenario item, each
option), hands the :class:`~kdeps_expr.actions.chat.ChatRequest` to the process's
:class:`~kdeps_expr.actions.chat.ChatService` and returns its
:class:`~kdeps_expr.actions.chat.ChatReply`: ``output`` is what ``get('<actionId>')``
reads, ``data`` what a chat target without ``apiResponse`` answers. A value that cannot
be used, or a model that fails, raises
:class:`~kdeps_expr.actions.failures.ExecutorError` (500, 502 or 504) naming the resource.
"""

from __future__ import annotations

from typing import Any

from ..actions.chat import (
    ChatReply,
    ChatRequest,
    ChatService,
    LLMSettings,
    Message,
    OptionError,
    Sampling,
    validate_option,
)
from ..actions.chat.calls import VENDORS, endpoint
from ..actions.chat.messages import DEFAULT_ROLE
from ..actions.chat.options import SAMPLING_KEYS, SETTINGS_KEYS
from ..actions.failures import ExecutorError
from ..language import values
from ..language.context import Context
from .fields import FieldReader
from .model import Action, Constant, ListValue, MapValue, Secret, Tracer, Value
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence

OPTIONS = (
    "model",
    "backend",
    "baseUrl",
    "apiKey",
    "role",
    "timeout",
    "timeoutDuration",
    *SAMPLING_KEYS,
    "streaming",
    "jsonResponse",
    "jsonResponseKeys",
)
"""The chat keys :func:`~kdeps_expr.actions.chat.validate_option` checks."""

_CHECKED = frozenset(OPTIONS) - {"jsonResponseKeys"}
"""The options checked at load (the schema checks jsonResponseKeys: a list of texts)."""

READ = frozenset({*OPTIONS, "prompt", "scenario", "messages"})
"""Every chat key a request reads; the schema's other chat keys warn that they are ignored."""

_TEXTS = {
    "model": "model",
    "role": "role",
    "backend": "backend",
    "baseUrl": "base_url",
    "apiKey": "api_key",
}
_FLAGS = {"jsonResponse": "json_response", "streaming": "streaming"}
_KEY_WARNING = (
    "{where} is written in the file, where anyone who reads the file finds the key: {fix}"
)
_KEY_FIXES = {
    "chat.apiKey": "write \"{{ env('OPENAI_API_KEY') }}\" instead, or leave it out (the "
    "environment's OPENAI_API_KEY or ANTHROPIC_API_KEY is used)",
    "settings.llm.apiKey": "leave it out (the environment's OPENAI_API_KEY or "
    "ANTHROPIC_API_KEY is used)",
}
_DYNAMIC: Any = object()
"""What :func:`_literal` answers for a value a request computes."""


# ---- at load -----------------------------------------------------------------------------


def check_chat(
    node: YamlMapping, fields: tuple[tuple[str, Value], ...], reader: FieldReader
) -> None:
    """Check the options of one ``chat`` block written as plain values (module docstring)."""
    literals = {key: _literal(value) for key, value in fields}
    for key, literal in literals.items():
        entry = node.get(key)
        if entry is None or key not in _CHECKED or literal is _DYNAMIC or literal is None:
            continue
        try:
            validate_option(key, option_value(key, literal))
        except OptionError as exc:
            reader.error(entry.error(f"chat.{key}: {exc.message}"))
            continue
        if key == "apiKey" and literal:
            reader.warn(entry, _key_warning("chat.apiKey"))
    _check_endpoint(literals.get("backend"), node.get("baseUrl"), "chat.baseUrl", reader)
    scenario, compiled = node.get("scenario"), dict(fields).get("scenario")
    if isinstance(scenario, Sequence) and isinstance(compiled, ListValue):
        for index, (item, value) in enumerate(zip(scenario.items, compiled.items, strict=True)):
            if isinstance(item, YamlMapping) and isinstance(value, MapValue):
                _check_scenario_item(item, value, f"chat.scenario[{index}]", reader)
    keys = node.get("jsonResponseKeys")
    if keys is not None and literals.get("jsonResponse") in (None, False, "false"):
        reader.warn(
            node.key("jsonResponseKeys"),
            "chat.jsonResponseKeys does nothing without jsonResponse: true",
        )


def _key_warning(where: str) -> str:
    return _KEY_WARNING.format(where=where, fix=_KEY_FIXES[where])


def _check_endpoint(backend: Any, base: Node | None, where: str, reader: FieldReader) -> None:
    """A literal base URL (``base``) the literal network ``backend`` could not call."""
    if not isinstance(base, Scalar) or not isinstance(base.value, str) or not base.value:
        return
    if isinstance(backend, str) and backend in VENDORS:
        try:
            endpoint(backend, base.value)
        except OptionError as exc:
            reader.error(base.error(f"{where}: {exc.message}"))


def _check_scenario_item(
    item: YamlMapping, value: MapValue, where: str, reader: FieldReader
) -> None:
    """A scenario item's plain ``role``; its ``cacheControl``, which does nothing here."""
    role, compiled = item.get("role"), dict(value.items).get("role")
    literal = _literal(compiled) if compiled is not None else _DYNAMIC
    if role is not None and literal is not _DYNAMIC and literal is not None:
        try:
            validate_option("role", literal)
        except OptionError as exc:
            reader.error(role.error(f"{where}.role: {exc.message}"))
    if item.get("cacheControl") is not None:
        reader.warn(
            item.key("cacheControl"),
            f"{where}.cacheControl is ignored by this engine: nothing is cached",
        )


def read_llm_settings(settings: YamlMapping, reader: FieldReader) -> None:
    """Check ``settings.llm`` as :class:`~kdeps_expr.actions.chat.ChatService` will read it;
    each error at its key or value (the schema has checked the keys and types)."""
    llm = settings.get("llm")
    if not isinstance(llm, YamlMapping):
        return
    for key, (key_node, value_node) in llm.entries.items():
        if key == "apiKey" and isinstance(value_node, Scalar):
            reader.secret(value_node)
        try:
            LLMSettings.from_mapping({key: value_node.to_python()})
        except OptionError as exc:
            place = value_node if key in SETTINGS_KEYS else key_node
            reader.error(place.error(f"settings.llm.{key}: {exc.message}"))
            continue
        if key == "apiKey" and isinstance(value_node, Scalar):
            reader.warn(value_node, _key_warning("settings.llm.apiKey"))
    backend = llm.get("backend")
    backend_name = backend.value if isinstance(backend, Scalar) else None
    _check_endpoint(backend_name, llm.get("baseUrl"), "settings.llm.baseUrl", reader)


def _literal(value: Value) -> Any:
    """The plain value of a field written without template or expression, else _DYNAMIC."""
    if isinstance(value, Secret):
        value = value.value
    if isinstance(value, Constant):
        return value.value
    if isinstance(value, ListValue):
        items = [_literal(item) for item in value.items]
        return _DYNAMIC if any(item is _DYNAMIC for item in items) else items
    if isinstance(value, MapValue):
        pairs = {key: _literal(item) for key, item in value.items}
        return _DYNAMIC if any(item is _DYNAMIC for item in pairs.values()) else pairs
    return _DYNAMIC


def option_value(key: str, value: Any) -> Any:
    """``value`` of option ``key`` as a request hands it on: a number option given as text
    (a query parameter, ``"0.7"``) is read as the number it spells, and one text as
    ``jsonResponseKeys`` is a list of one key (the schema allows both)."""
    if key == "jsonResponseKeys" and isinstance(value, str):
        return [value]
    if key in SAMPLING_KEYS and isinstance(value, str):
        text = value.strip()
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
    return value


# ---- at run time -------------------------------------------------------------------------


def run_chat(
    action: Action, context: Context, tracer: Tracer | None, service: ChatService
) -> ChatReply:
    """Render ``action`` (a chat block) for this request, send it, answer the reply.

    Raises :class:`~kdeps_expr.actions.failures.ExecutorError`: 500 for a value that cannot
    be used, 502 or 504 when the model fails (docs/chat.md).
    """
    request = chat_request(action, context, tracer)
    reply = service.send(request)
    if tracer is not None:
        tracer.record("reply", reply.output)
    return reply


def chat_request(action: Action, context: Context, tracer: Tracer | None) -> ChatRequest:
    """The :class:`~kdeps_expr.actions.chat.ChatRequest` ``action`` makes for this request."""
    found = {key: value.evaluate(context, tracer) for key, value in action.fields if key in READ}
    try:
        return _request(context.action_id, found)
    except OptionError as exc:
        raise ExecutorError("chat", context.action_id, f"{exc.key}: {exc.message}") from None


def _request(action_id: str, found: dict[str, Any]) -> ChatRequest:
    """The request of the rendered values ``found`` (only the keys a block sets are
    looked at: a request pays for what its block writes)."""
    fields: dict[str, Any] = {}
    sampling: dict[str, Any] = {}
    for key, value in found.items():
        if value is None:
            continue
        if key in _TEXTS:
            fields[_TEXTS[key]] = values.render(value)
        elif key in SAMPLING_KEYS:
            sampling[SAMPLING_KEYS[key]] = option_value(key, value)
        elif key in _FLAGS:
            fields[_FLAGS[key]] = bool(validate_option(key, value))
        elif key == "jsonResponseKeys":
            fields["json_response_keys"] = _keys(option_value(key, value))
    timeout = found.get("timeoutDuration")
    if timeout is None:
        timeout = found.get("timeout")
    if timeout is not None:
        fields["timeout"] = validate_option("timeout", timeout)
    if sampling:
        fields["sampling"] = Sampling(**sampling)
    scenario, history = found.get("scenario"), found.get("messages")
    if scenario is not None or history is not None:
        fields["scenario"] = (*_scenario(scenario), *_messages(history))
    return ChatRequest(values.render(found.get("prompt")), action_id, **fields)


def _keys(keys: Any) -> tuple[Any, ...]:
    """``jsonResponseKeys`` as a tuple (its items are checked when the call resolves)."""
    return tuple(keys) if isinstance(keys, list) else (keys,)


def _text(value: Any) -> str | None:
    """An option's rendered text; ``None`` (not set) for nil."""
    return None if value is None else values.render(value)


def _scenario(items: Any) -> list[Message]:
    """The rendered scenario items (each ``{role, prompt, name}``)."""
    if not isinstance(items, list):
        return []
    return [
        Message(
            _text(item.get("role")) or DEFAULT_ROLE,
            values.render(item.get("prompt")),
            _text(item.get("name")),
        )
        for item in items
        if isinstance(item, dict)
    ]


def _messages(history: Any) -> list[Message]:
    """``messages``: a list of ``{role, content}`` maps an expression gave (KDeps' history)."""
    if history is None:
        return []
    if not isinstance(history, list) or not all(
        isinstance(item, dict) and isinstance(item.get("role"), str) for item in history
    ):
        shown = values.to_json(history)[:80]
        raise OptionError(
            "messages", f"expected a list of maps with a role and a content, got {shown}"
        )
    return [
        Message(
            item["role"],
            values.render(item.get("content", item.get("prompt"))),
            _text(item.get("name")),
        )
        for item in history
    ]


__all__ = ["OPTIONS", "READ", "chat_request", "check_chat", "read_llm_settings", "run_chat"]
