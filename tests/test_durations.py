"""Duration strings of settings.session (SPEC §8): what parses, to what, and the errors."""

from __future__ import annotations

import pytest

from kdeps_expr.durations import parse_duration
from kdeps_expr.errors import WorkflowError

HINT = "use one or more <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("30s", 30.0, id="seconds"),
        pytest.param("5m", 300.0, id="minutes"),
        pytest.param("1h", 3600.0, id="hour"),
        pytest.param("24h", 86400.0, id="hours"),
        pytest.param("7d", 604800.0, id="days-are-24h"),
        pytest.param("1h30m", 5400.0, id="hours-and-minutes"),
        pytest.param("250ms", 0.25, id="milliseconds"),
        pytest.param("1m30s500ms", 90.5, id="three-parts"),
        pytest.param("1.5h", 5400.0, id="decimal"),
        pytest.param("0s", 0.0, id="zero"),
        pytest.param("90m", 5400.0, id="no-carry-needed"),
    ],
)
def test_valid_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("", f"invalid duration '': {HINT}", id="empty"),
        pytest.param("30", f"invalid duration '30': {HINT}", id="no-unit-string"),
        pytest.param("5 m", f"invalid duration '5 m': {HINT}", id="space"),
        pytest.param(" 5m", f"invalid duration ' 5m': {HINT}", id="leading-space"),
        pytest.param("5min", f"invalid duration '5min': {HINT}", id="long-unit"),
        pytest.param("1w", f"invalid duration '1w': {HINT}", id="weeks"),
        pytest.param("-5m", f"invalid duration '-5m': {HINT}", id="negative"),
        pytest.param("m", f"invalid duration 'm': {HINT}", id="unit-only"),
        pytest.param(".5h", f"invalid duration '.5h': {HINT}", id="no-leading-digit"),
        pytest.param("1h30", f"invalid duration '1h30': {HINT}", id="trailing-number"),
        pytest.param("5M", f"invalid duration '5M': {HINT}", id="upper-case"),
        pytest.param(
            "\u0663\u0660m", f"invalid duration '\u0663\u0660m': {HINT}", id="arabic-indic-digits"
        ),
        pytest.param(
            "\uff13\uff10s", f"invalid duration '\uff13\uff10s': {HINT}", id="fullwidth-digits"
        ),
        pytest.param(30, f"invalid duration 30: a duration needs a unit; {HINT}", id="yaml-int"),
        pytest.param(
            1.5, f"invalid duration 1.5: a duration needs a unit; {HINT}", id="yaml-float"
        ),
        pytest.param(True, f"invalid duration True: {HINT}", id="yaml-bool"),
        pytest.param(None, f"invalid duration None: {HINT}", id="yaml-null"),
        pytest.param(["5m"], f"invalid duration ['5m']: {HINT}", id="yaml-list"),
    ],
)
def test_invalid_durations(value: object, message: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("9" * 400 + "d", id="one-part-overflows"),
        pytest.param("1" + "0" * 308 + "s" + "1" + "0" * 308 + "s", id="sum-overflows"),
    ],
)
def test_a_duration_too_long_to_represent_is_an_error(text: str) -> None:
    """A number past the float range would become ``inf`` and break every later use."""
    with pytest.raises(WorkflowError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"invalid duration {text!r}: it is too long to represent"
