"""The KDeps file format as one JSON Schema (shipped data), and its validator for located YAML.

``kdeps.schema.json`` beside this module describes ``workflow.yaml`` and resource files in
KDeps' three layouts (A and B: ``metadata`` + ``run``; C: flat): every key KDeps documents,
its type, and where a string is always an expression (``"x-kdeps": "expression"``). The
loader validates each YAML document with it before building the model, and editors use the
same file (``kdeps-expr schema`` prints it).

:func:`check_document` accepts a valid document with jsonschema-rs, fast, and asks
jsonschema what is wrong with any other. It turns every schema error into one
:class:`WorkflowError` at the character of the YAML file it is about: an unknown key at the
key (with a did-you-mean), a wrong type or value at the value, a missing key at the mapping
that lacks it. A few ``x-kdeps-…`` annotations refine the messages: ``x-kdeps-expect`` says
in words what a value must be, ``x-kdeps-hints`` explains a known mistake for one unknown
key (a layout C key in a layout A resource), ``x-kdeps-messages`` replaces a keyword's
message.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError

from ...durations import parse_duration
from ...errors import WorkflowError
from ..yamlsource import Mapping as YamlMapping
from ..yamlsource import Node, Sequence

SCHEMA_FILE = "kdeps.schema.json"
_FOR_READERS = frozenset({"description", "title", "deprecated", "examples"})
"""Keywords for people and editors; the validator skips them (each costs it a lookup)."""
_SCHEMA_VALUES = frozenset({"items", "additionalProperties", "if", "then", "else", "not"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs"})
MAX_LISTED_KEYS = 12
"""An unknown key's message lists the keys known there when there are at most this many."""

_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def schema_text() -> str:
    """The schema as shipped, for ``kdeps-expr schema`` and editors."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def schema() -> dict[str, Any]:
    """The parsed schema (read once)."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def definition(name: str) -> dict[str, Any]:
    """The schema of one ``$defs`` entry: ``resourceC``, ``action.chat``, …"""
    found: dict[str, Any] = schema()["$defs"][name]
    return found


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """``node`` with its ``$ref`` followed (to a ``$defs`` entry), else ``node`` itself."""
    while "$ref" in node:
        node = definition(str(node["$ref"]).rsplit("/", 1)[1])
    return node


@cache
def _inlined(part: str) -> dict[str, Any] | bool:
    """The schema of ``$defs/<part>`` (``workflow`` or ``resource``), made for validators.

    It is a copy of the definition with every ``$ref`` replaced by its target (the
    definitions hold no cycle), the keywords for readers dropped, and an empty schema
    written ``true``: resolving references at each use made jsonschema 2.5 times slower,
    and each subschema it descends into costs it a validator object.
    """
    definitions = schema()["$defs"]

    def inline(node: Any) -> Any:
        """A schema with its references replaced, for the validators only."""
        if not isinstance(node, dict):
            return node
        while "$ref" in node:
            rest = {key: value for key, value in node.items() if key != "$ref"}
            node = {**definitions[node["$ref"].rsplit("/", 1)[1]], **rest}
        kept: dict[str, Any] = {}
        for key, value in node.items():
            if key in _FOR_READERS:
                continue
            if key in _SCHEMA_MAPS:
                value = {name: inline(item) for name, item in value.items()}
            elif key in _SCHEMA_LISTS:
                value = [inline(item) for item in value]
            elif key in _SCHEMA_VALUES:
                value = inline(value)
            kept[key] = value
        return kept or True  # `true` accepts anything without a validator of its own

    inlined: dict[str, Any] | bool = inline(definitions[part])
    return inlined


@cache
def _validator(part: str) -> Draft202012Validator:
    """jsonschema's validator for ``$defs/<part>``: it explains what is wrong."""
    return Draft202012Validator(_inlined(part))


@cache
def _fast_validator(part: str) -> jsonschema_rs.Validator:
    """jsonschema-rs's validator for ``$defs/<part>``: it only says whether a document is
    valid, some twenty times faster than jsonschema (loading 50 resources must stay well
    under 100 ms). Formats are not checked, as jsonschema does not check them either."""
    return jsonschema_rs.Draft202012Validator(_inlined(part), validate_formats=False)


def _valid(instance: Any, part: str) -> bool:
    """True when jsonschema-rs finds ``instance`` valid; anything it cannot take (a value
    that is not JSON, such as an infinite number) is left to jsonschema."""
    try:
        return _fast_validator(part).is_valid(instance)
    except Exception:
        return False


def check_document(node: Node, part: str, label: str) -> list[WorkflowError]:
    """Every schema error of one YAML document (``part`` is ``workflow`` or ``resource``).

    ``label`` names the document's root in messages (``a resource``, ``workflow.yaml``).
    """
    instance = node.to_python()
    if _valid(instance, part):
        return []
    errors: list[WorkflowError] = []
    seen: set[tuple[int, str]] = set()
    for error in _validator(part).iter_errors(instance):
        for placed in _translate(error, node, label):
            key = (placed.line or 0) * 100000 + (placed.column or 0), placed.message
            if key not in seen:
                seen.add(key)
                errors.append(placed)
    return errors


# ---- from a schema error to a located message ------------------------------------------


def _translate(error: ValidationError, root: Node, label: str) -> Iterator[WorkflowError]:
    path = list(error.absolute_path)
    node = _locate(root, path)
    where = _where(path, label)
    schema_here: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    messages = schema_here.get("x-kdeps-messages", {})
    kind = str(error.validator)
    if kind in messages:
        yield node.error(messages[kind])
    elif kind == "additionalProperties" and isinstance(node, YamlMapping):
        yield from _unknown_keys(node, schema_here, where)
    elif kind == "required" and isinstance(error.instance, Mapping):
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for key in required:
            if key not in error.instance:
                yield node.error(f"{_join(where, key)} is required")
    else:
        yield node.error(_message(error, where, schema_here))


def _unknown_keys(
    node: YamlMapping, schema_here: Mapping[str, Any], where: str
) -> Iterator[WorkflowError]:
    known = list(schema_here.get("properties", {}))
    hints = schema_here.get("x-kdeps-hints", {})
    for key, (key_node, _) in node.entries.items():
        if key in known:
            continue
        hint = hints.get(key)
        text = f"; {hint}" if hint else did_you_mean(key, known)
        listing = (
            f" (known: {', '.join(sorted(known))})"
            if len(known) <= MAX_LISTED_KEYS
            else " (kdeps-expr schema lists the keys)"
        )
        yield key_node.error(f"unknown key {key!r} in {where}{text}{listing}")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``known`` (case first), else nothing."""
    names = list(known)
    lowered = {item.lower(): item for item in names}
    close = [lowered[name.lower()]] if name.lower() in lowered else []
    close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _message(error: ValidationError, where: str, schema_here: Mapping[str, Any]) -> str:
    kind = str(error.validator)
    value: Any = error.validator_value
    instance = error.instance
    expect = schema_here.get("x-kdeps-expect")
    if schema_here.get("x-kdeps") == "duration" and kind in ("type", "pattern"):
        try:
            parse_duration(instance)
        except WorkflowError as exc:
            return f"{where}: {exc.message}"
    if kind == "type":
        wanted = expect or " or ".join(
            _TYPE_WORDS.get(name, name) for name in ([value] if isinstance(value, str) else value)
        )
        return f"{where} must be {wanted}, not {_describe(instance)}"
    if kind == "enum":
        choices = ", ".join(str(choice) for choice in value)
        hint = did_you_mean(str(instance), [str(choice) for choice in value])
        return f"{where} must be one of {choices}, not {_shown(instance)}{hint}"
    if kind == "const":
        return f"{where} must be {value!r}, not {_shown(instance)}"
    if kind == "minimum":
        return f"{where} must be at least {value}, not {_shown(instance)}"
    if kind == "maximum":
        return f"{where} must be at most {value}, not {_shown(instance)}"
    if kind == "minLength" and value == 1:
        return f"{where} must not be empty"
    if kind in ("pattern", "anyOf", "oneOf", "minProperties") and expect:
        return f"{where} must be {expect}, not {_shown(instance)}"
    return f"{where}: {error.message}"


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return _shown(value)


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _locate(root: Node, path: list[Any]) -> Node:
    """The located node at ``path`` (keys and indices) under ``root``."""
    node = root
    for step in path:
        if isinstance(node, YamlMapping) and isinstance(step, str) and step in node.entries:
            node = node.entries[step][1]
        elif isinstance(node, Sequence) and isinstance(step, int) and step < len(node.items):
            node = node.items[step]
        else:
            break
    return node


def _where(path: list[Any], label: str) -> str:
    """``run.chat.timeoutDuration``, ``validations.rules[0].type``; ``label`` at the root."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or label


def _join(where: str, key: str) -> str:
    return key if where in ("a resource", "workflow.yaml") else f"{where}.{key}"


__all__ = ["check_document", "definition", "did_you_mean", "resolve", "schema", "schema_text"]
