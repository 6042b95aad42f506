"""What a statement gives back: rows as maps (``json``), CSV text, or an ASCII table.

Database values become kdeps values: integers stay integers, a ``numeric`` keeps its
scale (``30`` is an int, ``30.00`` a float), dates and times are ISO 8601 text, bytes are
UTF-8 text, JSON columns stay lists and maps, anything else is its text.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import uuid
from collections.abc import Sequence
from typing import Any

from ...language.values import render

FORMATS = ("json", "csv", "table")


def kdeps_value(value: Any) -> Any:
    """A value of a row as a kdeps value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [kdeps_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): kdeps_value(item) for key, item in value.items()}
    return str(value)


def row_maps(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows as ``{column: value}`` maps (a repeated column name keeps its last value)."""
    return [dict(zip(columns, (kdeps_value(v) for v in row), strict=True)) for row in rows]


def formatted(columns: Sequence[str], rows: list[dict[str, Any]], form: str) -> Any:
    """``rows`` in the output ``form``: ``json`` (the list), ``csv`` or ``table`` (text)."""
    if form == "csv":
        return csv_text(columns, rows)
    if form == "table":
        return table_text(columns, rows)
    return rows


def _cells(columns: Sequence[str], row: dict[str, Any]) -> list[str]:
    return [render(row.get(column)) for column in columns]


def csv_text(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """CSV with a header line, columns in the query's order, NULL as an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_cells(columns, row))
    return out.getvalue()


def table_text(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """The ASCII table KDeps' documentation draws (``+----+``, ``| id | name |``)."""
    lines = [list(columns), *(_cells(columns, row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def text(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    body = [text(cells) for cells in lines[1:]]
    return "\n".join([rule, text(lines[0]), rule, *body, rule]) + "\n"
