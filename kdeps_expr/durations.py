"""Duration strings of workflow settings (``30s``, ``5m``, ``1h30m``, ``7d``) to seconds.

A duration is one or more ``<number><unit>`` parts written together, with units ``ms``,
``s``, ``m``, ``h`` and ``d`` (``7d`` is 168 hours); the number may have a decimal part
(``1.5h``). The parts add up, as in Go's ``time.ParseDuration``.

A bare YAML number such as ``ttl: 30`` is refused, not read as seconds: KDeps users write
minutes and hours far more often than seconds, and SPEC §8 forbids silent guesses, so the
error asks for a unit instead. Anything else that does not parse is an error naming the
bad text and the accepted units. Digits are ASCII only (``\\d`` would also take ``٣٠m``),
and a duration too long for a float (hundreds of digits, which would become ``inf``) is an
error rather than an endless ttl.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from .errors import WorkflowError

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_PART = r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)"
_DURATION = re.compile(f"(?:{_PART})+")
_PARTS = re.compile(_PART)
_HINT = "use one or more <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'"


def parse_duration(text: object) -> float:
    """The number of seconds ``text`` stands for; ``WorkflowError`` naming it when invalid."""
    if not isinstance(text, str):
        if isinstance(text, int | float) and not isinstance(text, bool):
            raise WorkflowError(f"invalid duration {text!r}: a duration needs a unit; {_HINT}")
        raise WorkflowError(f"invalid duration {text!r}: {_HINT}")
    if not _DURATION.fullmatch(text):
        raise WorkflowError(f"invalid duration {text!r}: {_HINT}")
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in _PARTS.findall(text))
    if not math.isfinite(seconds):
        raise WorkflowError(f"invalid duration {text!r}: it is too long to represent")
    return seconds


def setting_duration(section: Mapping[str, object], key: str, where: str, default: float) -> float:
    """The duration ``section[key]`` in seconds (``default`` when absent), longer than zero;
    ``WorkflowError`` naming the setting ``where.key`` otherwise."""
    if key not in section:
        return default
    try:
        seconds = parse_duration(section[key])
    except WorkflowError as exc:
        raise WorkflowError(f"{where}.{key}: {exc.message}") from exc
    if seconds <= 0:
        raise WorkflowError(f"{where}.{key} must be longer than zero, not {section[key]!r}")
    return seconds
