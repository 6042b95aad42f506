"""KDeps' helper functions (SPEC §3), with KDeps' meaning: ``safe``, ``env``, ``toJSON``,
``fromJSON``, ``debug``, ``urlencode``, ``ternary`` and ``file``.

``input``, ``output`` and the ``get`` sources live with the other scope functions
(scope.py); the ``item``, ``loop`` and ``request`` objects in iteration.py and request.py.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote_plus

from ...errors import EvaluationError
from .. import values as v
from ..context import Context
from ..limits import Limits
from . import uploads
from .base import as_text, builtin, need
from .conversions import json_


@builtin("safe")
def safe(value: Any, path: Any) -> Any:
    """``safe(obj, 'a.b.c')``: the member at a dotted path through maps; nil as soon as a
    step is missing or is not a map (a list index such as ``items.0`` gives nil too)."""
    if value is None or path == "":
        return None
    for name in as_text("safe", path).split("."):
        if type(value) is not dict:
            return None
        value = value.get(name)
    return value


@builtin("env", pure=False)
def env(name: Any) -> str | None:
    """A variable of the process environment; nil when it is not set."""
    return os.environ.get(as_text("env", name))


builtin("toJSON", allocates=True)(json_)


def _int(text: str) -> int:
    number = int(text)
    if not -(1 << v.INT_BITS) <= number < (1 << v.INT_BITS):
        raise ValueError("integer beyond 64 bits")
    return number


def _float(text: str) -> float:
    return v.checked_float(float(text))


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


@builtin("fromJSON")
def from_json(text: Any) -> Any:
    """The value a JSON text holds; nil when the text is not JSON an expression can hold
    (as KDeps answers nil for invalid JSON): integers stay integers, and a number beyond
    64 bits or out of range, ``NaN`` or a lone surrogate make the text invalid."""
    if text is None:
        return None
    try:
        value = _DECODER.decode(as_text("fromJSON", text))
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate cannot be text
    except (ValueError, EvaluationError, RecursionError, UnicodeEncodeError):
        return None
    return value


@builtin("debug", allocates=True)
def debug(value: Any, *, limits: Limits) -> str:
    """JSON indented by two spaces, map keys in their stored order, for reading."""
    compact = v.bounded_json(value, limits.max_size)  # refuses a huge value first
    if type(value) not in (list, dict):
        return compact
    text = json.dumps(value, indent=2, ensure_ascii=False)
    v.check_total(len(text), "characters", limits.max_size)
    return text


@builtin("urlencode", allocates=True)
def urlencode(value: Any, *, limits: Limits) -> str:
    """The value's text (as ``string()`` renders it) escaped for a URL query: a space is
    ``+`` and every character but ``A-Z a-z 0-9 - _ . ~`` is ``%XX``."""
    kind = type(value)
    text = v.bounded_json(value, limits.max_size) if kind in (list, dict) else v.render(value)
    v.check_total(len(text) * 3, "characters", limits.max_size)
    return quote_plus(text, safe="")


@builtin("ternary")
def ternary(condition: Any, yes: Any, no: Any) -> Any:
    """``yes`` when ``condition`` is truthy (SPEC §1), else ``no``."""
    return yes if v.truthy(condition) else no


_SELECTORS = ("first", "last", "count", "all", "mime:<type>")


@builtin("file", pass_context=True)
def file(ctx: Context, pattern: Any, selector: Any = None, *, limits: Limits) -> Any:
    """Uploaded files by name or glob (``file('*.txt')``): without a selector the text of the
    named file, or the texts of every match of a glob; ``first``, ``last`` (text or nil),
    ``count``, ``all`` (texts), ``mime:<type>`` (texts of the matches of that type)."""
    pattern = as_text("file", pattern)
    matches = uploads.matching(ctx, pattern)
    limit = limits.max_size
    if selector is None:
        if uploads.GLOB & set(pattern):
            return [uploads.content(upload, limit) for upload in matches]
        return uploads.content(matches[0], limit) if matches else None
    if type(selector) is not str:
        raise need("file", "a selector string", selector)
    if selector == "count":
        return len(matches)
    if selector in ("first", "last"):
        chosen = matches[0 if selector == "first" else -1] if matches else None
        return None if chosen is None else uploads.content(chosen, limit)
    if selector == "all":
        return [uploads.content(upload, limit) for upload in matches]
    if selector.startswith("mime:"):
        typed = uploads.of_type(matches, selector.removeprefix("mime:"))
        return [uploads.content(upload, limit) for upload in typed]
    raise EvaluationError(
        f"file(): unknown selector {selector!r}; selectors are {', '.join(_SELECTORS)}"
    )
