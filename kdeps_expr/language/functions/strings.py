"""String built-ins: ``lower``, ``upper``, ``trim``, ``trimPrefix``, ``trimSuffix``, ``split``,
``splitAfter``, ``join``, ``replace``, ``repeat``, ``indexOf``, ``lastIndexOf``,
``hasPrefix``, ``hasSuffix``. Positions count characters, as ``len`` and indexing do."""

from __future__ import annotations

from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..limits import Limits
from .base import as_list, as_text, bounded, builtin, need


@builtin("lower", allocates=True)
def lower(text: Any, *, limits: Limits) -> str:
    """The string in lower case (which can be longer: ``lower('İ')`` has two characters)."""
    result = (text if type(text) is str else as_text("lower", text)).lower()
    return result if len(result) <= limits.max_size else bounded(result, limits)


@builtin("upper", allocates=True)
def upper(text: Any, *, limits: Limits) -> str:
    """The string in upper case (which can be longer: ``upper('ß')`` is ``'SS'``)."""
    result = (text if type(text) is str else as_text("upper", text)).upper()
    return result if len(result) <= limits.max_size else bounded(result, limits)


@builtin("trim")
def trim(text: Any, chars: Any = None) -> str:
    """The string without leading and trailing white space (or ``chars``)."""
    if type(text) is str and chars is None:
        return text.strip()
    return as_text("trim", text).strip(None if chars is None else as_text("trim", chars))


@builtin("trimPrefix")
def trim_prefix(text: Any, prefix: Any = " ") -> str:
    """The string without ``prefix`` (one space by default) at its start."""
    return as_text("trimPrefix", text).removeprefix(as_text("trimPrefix", prefix))


@builtin("trimSuffix")
def trim_suffix(text: Any, suffix: Any = " ") -> str:
    """The string without ``suffix`` (one space by default) at its end."""
    return as_text("trimSuffix", text).removesuffix(as_text("trimSuffix", suffix))


@builtin("hasPrefix")
def has_prefix(text: Any, prefix: Any) -> bool:
    """True when the string starts with ``prefix`` (as ``startsWith``)."""
    return as_text("hasPrefix", text).startswith(as_text("hasPrefix", prefix))


@builtin("hasSuffix")
def has_suffix(text: Any, suffix: Any) -> bool:
    """True when the string ends with ``suffix`` (as ``endsWith``)."""
    return as_text("hasSuffix", text).endswith(as_text("hasSuffix", suffix))


@builtin("indexOf")
def index_of(text: Any, part: Any) -> int:
    """The position of the first ``part`` in the string, -1 when it is not there."""
    return as_text("indexOf", text).find(as_text("indexOf", part))


@builtin("lastIndexOf")
def last_index_of(text: Any, part: Any) -> int:
    """The position of the last ``part`` in the string, -1 when it is not there."""
    return as_text("lastIndexOf", text).rfind(as_text("lastIndexOf", part))


def _count(function: str, count: Any) -> int:
    if type(count) is not int:
        raise need(function, "an integer count", count)
    return count


def _split(function: str, text: Any, separator: Any, count: Any, keep: bool) -> list[str]:
    """Go's ``SplitN``/``SplitAfterN``: at most ``count`` parts (all for a negative count,
    none for 0), the last holding the rest; ``keep`` leaves each separator on its part."""
    subject, glue = as_text(function, text), as_text(function, separator)
    limit = _count(function, count)
    if limit == 0:
        return []
    if glue == "":
        chars = list(subject)
        if 0 < limit < len(chars):
            return [*chars[: limit - 1], "".join(chars[limit - 1 :])]
        return chars
    parts = subject.split(glue, limit - 1 if limit > 0 else -1)
    if keep:
        return [part + glue for part in parts[:-1]] + parts[-1:]
    return parts


@builtin("split", allocates=True)
def split(text: Any, separator: Any, count: Any = -1, *, limits: Limits) -> list[str]:
    """The parts of a string between separators: at most ``count`` of them, the last
    holding the rest; an empty separator splits into characters."""
    return _split("split", text, separator, count, keep=False)


@builtin("splitAfter", allocates=True)
def split_after(text: Any, separator: Any, count: Any = -1, *, limits: Limits) -> list[str]:
    """As ``split``, each part keeping the separator that ends it."""
    return _split("splitAfter", text, separator, count, keep=True)


@builtin("join", allocates=True)
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


@builtin("replace", allocates=True)
def replace(text: Any, old: Any, new: Any, count: Any = -1, *, limits: Limits) -> str:
    """``text`` with ``old`` replaced by ``new``: every one, or the first ``count``."""
    subject = as_text("replace", text)
    before, after = as_text("replace", old), as_text("replace", new)
    limit = _count("replace", count)
    if before and len(after) <= len(before):  # it cannot grow
        return subject.replace(before, after, limit)
    hits = subject.count(before) if before else len(subject) + 1
    if limit >= 0:
        hits = min(hits, limit)
    total = len(subject) + hits * (len(after) - len(before))
    v.check_total(total, "characters", limits.max_size)
    return subject.replace(before, after, limit)


@builtin("repeat", allocates=True)
def repeat(text: Any, count: Any, *, limits: Limits) -> str:
    """The string ``count`` times over (SPEC §1: ``*`` only multiplies numbers)."""
    unit = as_text("repeat", text)
    if type(count) is not int or count < 0:
        raise need("repeat", "a count that is an integer of at least 0", count)
    v.check_total(len(unit) * count, "characters", limits.max_size)
    return unit * count
