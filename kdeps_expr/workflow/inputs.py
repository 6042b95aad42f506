"""The declarative input schema of ``validations`` (``required``, ``rules``, custom ``expr``).

Fields are read from the request as an unqualified ``get`` reads it (query parameters,
then body fields, then headers), after the resource's allow-lists. For each field the
first failing rule is reported: ``required`` (missing, ``nil``, ``''``, ``[]`` or
``{}``), then ``type``, then the constraints of that type; a field that is absent is
checked only by ``required``. A value from the query string or a form is always text, so
``integer``, ``number`` and ``boolean`` also accept text that reads as one (``age=42``);
KDeps' own ``integer`` refused every JSON number (Go decodes them as floats), this engine
accepts integral ones. A rule's ``message`` replaces the default text. A custom rule is a
condition; one that raises counts as failed (its error goes to the log).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import regex

from ..errors import ExprError
from ..language import values
from ..language.context import Context, Request
from .model import InputRule, InputSchema, Tracer

logger = logging.getLogger("kdeps_expr.runner")

CUSTOM_MESSAGE = "custom validation failed"
_MISSING: Any = object()
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INTEGER_TEXT = re.compile(r"[-+]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")


def request_field(request: Request, name: str) -> Any:
    """The field ``name`` of the request: query, then body, then headers; ``_MISSING``."""
    if name in request.query:
        return request.query[name]
    body = request.body
    if isinstance(body, dict) and name in body:
        return body[name]
    return request.headers.get(name.lower(), _MISSING)


def input_failures(
    schema: InputSchema, context: Context, tracer: Tracer | None, regex_timeout: float
) -> list[dict[str, Any]]:
    """Every failure of ``schema`` for the request: ``{field, type, message}`` each."""
    request = context.request
    failures: list[dict[str, Any]] = []
    failed: set[str] = set()
    for name in schema.required:
        if _empty(request_field(request, name)):
            failures.append({"field": name, "type": "required", "message": "is required"})
            failed.add(name)
    for rule in schema.rules:
        value = request_field(request, rule.field)
        if rule.field in failed or value is _MISSING:
            continue
        problem = _first_problem(rule, value, regex_timeout)
        if problem is not None:
            kind, message = problem
            failures.append({"field": rule.field, "type": kind, "message": rule.message or message})
            failed.add(rule.field)
    for number, custom in enumerate(schema.custom, 1):
        try:
            passed = values.truthy(custom.step.run(context, tracer))
        except ExprError as exc:
            logger.warning(
                "custom validation %d raised in %s (request %s); counted as failed\n%s",
                number,
                context.action_id,
                request.request_id,
                exc.render(),
            )
            passed = False
        if not passed:
            failures.append(
                {"field": None, "type": "custom", "message": custom.message or CUSTOM_MESSAGE}
            )
    return failures


def failure_text(failures: list[dict[str, Any]]) -> str:
    """One message naming each field: ``email: invalid email format; age: is required``."""
    return "; ".join(
        f"{failure['field']}: {failure['message']}" if failure["field"] else failure["message"]
        for failure in failures
    )


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == "" or value == [] or value == {}


def _first_problem(rule: InputRule, value: Any, regex_timeout: float) -> tuple[str, str] | None:
    kind = rule.type or rule.format
    if kind is not None:
        check = _TYPES.get(kind)
        message = check(value) if check is not None else None
        if message is not None:
            return "type", message
        if rule.format is not None and rule.type is not None:
            message = _TYPES[rule.format](value)
            if message is not None:
                return "format", message
    number = _number(value)
    if isinstance(value, str):
        length = len(value)
        if rule.min_length is not None and length < rule.min_length:
            return "minLength", f"must be at least {rule.min_length} characters"
        if rule.max_length is not None and length > rule.max_length:
            return "maxLength", f"must be at most {rule.max_length} characters"
        if rule.pattern is not None and not _search(rule.pattern, value, regex_timeout):
            return "pattern", "does not match the required pattern"
    if number is not None and rule.type in ("integer", "number", None):
        if rule.minimum is not None and number < rule.minimum:
            return "minimum", f"must be at least {_shown(rule.minimum)}"
        if rule.maximum is not None and number > rule.maximum:
            return "maximum", f"must be at most {_shown(rule.maximum)}"
    if isinstance(value, list):
        if rule.min_items is not None and len(value) < rule.min_items:
            return "minItems", f"must have at least {rule.min_items} items"
        if rule.max_items is not None and len(value) > rule.max_items:
            return "maxItems", f"must have at most {rule.max_items} items"
    if rule.enum is not None and not any(_same(value, choice) for choice in rule.enum):
        choices = ", ".join(values.render(choice) for choice in rule.enum)
        return "enum", f"must be one of: {choices}"
    return None


def _search(pattern: str, text: str, timeout: float) -> bool:
    """An unanchored search (KDeps' Go ``MatchString``), bounded in time like ``matches``."""
    try:
        return regex.search(pattern, text, timeout=timeout) is not None
    except TimeoutError:
        return False


def _same(value: Any, choice: Any) -> bool:
    """Enum membership; query text ``'3'`` matches the YAML number 3 as KDeps' ``%v`` did."""
    return value == choice or (isinstance(value, str) and value == values.render(choice))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value)
    return None


def _shown(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _is_integer(value: Any) -> str | None:
    if isinstance(value, bool):
        return "must be an integer"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return None
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return None
    return "must be an integer"


def _is_number(value: Any) -> str | None:
    return None if _number(value) is not None else "must be a number"


def _is_boolean(value: Any) -> str | None:
    ok = isinstance(value, bool) or value in ("true", "false")
    return None if ok else "must be true or false"


def _is_email(value: Any) -> str | None:
    ok = isinstance(value, str) and _EMAIL.fullmatch(value)
    return None if ok else "invalid email format"


def _is_url(value: Any) -> str | None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return "URL must start with http:// or https://"
    return None if urlsplit(value).hostname else "URL must have a valid host"


def _is_uuid(value: Any) -> str | None:
    return None if isinstance(value, str) and _UUID.fullmatch(value) else "invalid UUID format"


def _is_date(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return "invalid date format (expected RFC 3339 or YYYY-MM-DD)"


_TYPES: dict[str, Callable[[Any], str | None]] = {
    "string": lambda v: None if isinstance(v, str) else "must be a string",
    "integer": _is_integer,
    "number": _is_number,
    "boolean": _is_boolean,
    "array": lambda v: None if isinstance(v, list) else "must be a list",
    "object": lambda v: None if isinstance(v, dict) else "must be a map",
    "email": _is_email,
    "url": _is_url,
    "uuid": _is_uuid,
    "date": _is_date,
}
