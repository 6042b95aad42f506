"""SQL text without a database: ``$1``/``?`` placeholders rewritten for every driver style,
and template blocks in a query read as bound parameters (or refused at load)."""

from __future__ import annotations

from typing import Any

import pytest

from kdeps_expr import Context, Engine, Request
from kdeps_expr.actions.sql.placeholders import PlaceholderError, bind
from kdeps_expr.actions.sql.templated import QueryTemplate
from kdeps_expr.errors import WorkflowError

ENGINE = Engine()


# ---- placeholders for every driver style -----------------------------------------------------


@pytest.mark.parametrize(
    ("style", "dialect", "text", "arguments"),
    [
        ("pyformat", "postgresql", "SELECT %(p2)s, %(p1)s, %(p2)s, '%%'", {"p1": "a", "p2": "b"}),
        ("qmark", "sqlite", "SELECT ?2, ?1, ?2, '%'", ("a", "b")),
        ("qmark", "mssql", "SELECT ?, ?, ?, '%'", ("b", "a", "b")),
        ("format", "mysql", "SELECT %s, %s, %s, '%%'", ("b", "a", "b")),
        ("numeric", "x", "SELECT :2, :1, :2, '%'", ("a", "b")),
        ("named", "oracle", "SELECT :p2, :p1, :p2, '%'", {"p1": "a", "p2": "b"}),
    ],
)
def test_placeholders_in_each_driver_style(
    style: str, dialect: str, text: str, arguments: Any
) -> None:
    assert bind("SELECT $2, $1, $2, '%'", ["a", "b"], style, dialect) == (text, arguments)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT E'it\\'s $1', $1", "SELECT E'it\\'s $1', ?1"),
        ('SELECT "col$1", a$1, $1', 'SELECT "col$1", a$1, ?1'),
        ("SELECT `x?`, ? -- ?\n", "SELECT `x?`, ?1 -- ?\n"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ ?1"),
    ],
)
def test_literals_names_and_comments_are_skipped(query: str, expected: str) -> None:
    assert bind(query, ["v"], "qmark", "sqlite")[0] == expected


def test_mixed_placeholder_styles_are_refused() -> None:
    with pytest.raises(PlaceholderError, match="mixes \\$1-style and \\?-style"):
        bind("SELECT $1, ?", ["a", "b"], "qmark", "sqlite")


# ---- templates in a query --------------------------------------------------------------------


def test_query_template_text_and_values() -> None:
    template = QueryTemplate(
        ENGINE.compile_template(
            "SELECT * FROM t WHERE a = $1 AND b = {{ get('b') }} AND c LIKE 'x%{{ get('c') }}'"
            " AND d = 'it''s' -- {{ get('b') }} 5"
        )
    )
    text, values = template.render(Context(Request(query={"b": "B", "c": "C"})), 2)
    assert text == (
        "SELECT * FROM t WHERE a = $1 AND b = $2 AND c LIKE ('x%' || $3) AND d = 'it''s' --  5"
    )
    assert values == ["B", "C"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT * FROM t_{{ get('x') }}",
            "a table or column name cannot come from a value (1:17)\n"
            " | SELECT * FROM t_{{ get('x') }}\n | ................^",
        ),
        (
            "SELECT \"{{ get('x') }}\"",
            "inside a quoted name, an escape string or a $$ body it is text (1:9)\n"
            " | SELECT \"{{ get('x') }}\"\n | ........^",
        ),
        (
            "SELECT E'{{ get('x') }}'",
            "inside a quoted name, an escape string or a $$ body it is text (1:10)\n"
            " | SELECT E'{{ get('x') }}'\n | .........^",
        ),
        (
            "SELECT $$ {{ get('x') }} $$",
            "inside a quoted name, an escape string or a $$ body it is text (1:11)\n"
            " | SELECT $$ {{ get('x') }} $$\n | ..........^",
        ),
        (
            "SELECT '{{ get('x') }}",
            "the string literal around it is not closed (1:9)\n"
            " | SELECT '{{ get('x') }}\n | ........^",
        ),
    ],
)
def test_places_a_query_value_cannot_stand_are_refused_at_load(query: str, expected: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        QueryTemplate(ENGINE.compile_template(query))
    assert str(caught.value) == "a template cannot stand here in a SQL query: " + expected
