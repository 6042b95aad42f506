"""String built-ins: ``lower``, ``upper``, ``trim``, ``split``, ``join``, ``replace``."""

from __future__ import annotations

from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..limits import Limits
from .base import as_list, as_text, bounded, builtin


@builtin("lower")
def lower(text: Any, *, limits: Limits) -> str:
    """The string in lower case (which can be longer: ``lower('İ')`` has two characters)."""
    return bounded(as_text("lower", text).lower(), limits)


@builtin("upper")
def upper(text: Any, *, limits: Limits) -> str:
    """The string in upper case (which can be longer: ``upper('ß')`` is ``'SS'``)."""
    return bounded(as_text("upper", text).upper(), limits)


@builtin("trim")
def trim(text: Any, chars: Any = None) -> str:
    """The string without leading and trailing white space (or ``chars``)."""
    return as_text("trim", text).strip(None if chars is None else as_text("trim", chars))


@builtin("split")
def split(text: Any, separator: Any) -> list[str]:
    """The parts of a string between separators."""
    separator = as_text("split", separator)
    if separator == "":
        return list(as_text("split", text))
    return as_text("split", text).split(separator)


@builtin("join")
def join(items: Any, separator: Any = "", *, limits: Limits) -> str:
    """The strings of a list joined with ``separator``."""
    parts = as_list("join", items)
    glue = as_text("join", separator)
    for index, part in enumerate(parts):
        if type(part) is not str:
            raise EvaluationError(
                f"join() needs a list of strings, item {index} is {v.type_name(part)}"
            )
    total = sum(map(len, parts)) + len(glue) * max(len(parts) - 1, 0)
    v.check_total(total, "characters", limits.max_size)
    return glue.join(parts)


@builtin("replace")
def replace(text: Any, old: Any, new: Any, *, limits: Limits) -> str:
    """``text`` with every ``old`` replaced by ``new``."""
    subject = as_text("replace", text)
    before, after = as_text("replace", old), as_text("replace", new)
    hits = subject.count(before) if before else len(subject) + 1
    total = len(subject) + hits * (len(after) - len(before))
    v.check_total(total, "characters", limits.max_size)
    return subject.replace(before, after)
