"""Templates in a SQL query: each block becomes a bound parameter, never query text.

KDeps splices a template's text into ``sql.query``, so ``WHERE id = {{ get('id') }}`` lets a
request rewrite the query (KDeps' sql.md calls it "Bad - SQL injection risk"). Here a
block is never text of the query: it becomes a placeholder numbered after the resource's
own ``params`` (``$3`` when ``params`` has two values), and its value is bound like
theirs. Where the block stands decides how:

* in the query's code: the placeholder, ``WHERE id = $3``;
* as a whole string literal, ``'{{ get('name') }}'``: the placeholder alone, ``$3``;
* inside a longer string literal, ``'%{{ get('q') }}%'``: the literal's pieces joined with
  ``||`` (SQL's concatenation in PostgreSQL, SQLite and Oracle), ``('%' || $3 || '%')``;
* in a comment: nothing.

Refused when the workflow loads, at the block: inside a quoted name (``"…"``, backticks),
an escape string (``E'…'``) or a dollar-quoted body (``$$…$$``), and glued to a name
(``t_{{ x }}``: a table or column name cannot come from a value). ``check`` warns about
every template in a query all the same: ``params`` say the same thing plainly.
"""

from __future__ import annotations

import re
from typing import Any

from ...language.engine import Expression, Template
from ..failures import misplaced_block
from .placeholders import in_word, skip_quoted

_MARK = re.compile("\x00([0-9]+)\x00")


class QueryTemplate:
    """A query template, read once; :meth:`render` gives the query and the blocks' values."""

    __slots__ = ("blocks", "pieces", "template")

    def __init__(self, template: Template) -> None:
        self.template = template
        self.blocks = tuple(part for part in template.parts if isinstance(part, Expression))
        numbers = iter(range(len(self.blocks)))
        marked = "".join(
            part if isinstance(part, str) else f"\x00{next(numbers)}\x00" for part in template.parts
        )
        self.pieces: list[str | int] = []  # query text, and block numbers where placeholders go
        i = 0
        while i < len(marked):
            end = skip_quoted(marked, i, postgres=True)
            mark = _MARK.match(marked, i)
            if end > i:
                self._quoted(marked, i, end)
            elif mark is not None:
                end = mark.end()
                glued = end < len(marked) and (marked[end].isalnum() or marked[end] in "_$")
                if in_word(marked, i) or glued:
                    self._refuse(mark, "a table or column name cannot come from a value")
                self.pieces.append(int(mark.group(1)))
            else:
                end = i + 1
                while end < len(marked) and marked[end] != "\x00":
                    if skip_quoted(marked, end, postgres=True) > end:
                        break
                    end += 1
                self.pieces.append(marked[i:end])
            i = end

    def _quoted(self, marked: str, start: int, end: int) -> None:
        """A literal, quoted name or comment ``marked[start:end]``, with the blocks inside it."""
        span = marked[start:end]
        mark = _MARK.search(span)
        if mark is None:
            self.pieces.append(span)
            return
        if span.startswith(("--", "/*")):
            self.pieces.append(_MARK.sub("", span))
            return
        escape = start > 0 and marked[start - 1] in "eE" and not in_word(marked, start - 1)
        if span[0] != "'" or escape:
            self._refuse(mark, "inside a quoted name, an escape string or a $$ body it is text")
        if len(span) < 2 or not span.endswith("'"):
            self._refuse(mark, "the string literal around it is not closed")
        inside = _MARK.split(span[1:-1])  # text, number, text, number, …, text
        parts: list[str | int] = [
            int(piece) if index % 2 else f"'{piece}'"
            for index, piece in enumerate(inside)
            if index % 2 or piece
        ]
        if len(parts) == 1:
            self.pieces.append(parts[0])
            return
        self.pieces.append("(")
        for index, part in enumerate(parts):
            if index:
                self.pieces.append(" || ")
            self.pieces.append(part)
        self.pieces.append(")")

    def _refuse(self, mark: re.Match[str], why: str) -> None:
        raise misplaced_block(self.template, self.blocks[int(mark.group(1))], "SQL query", why)

    def render(self, context: Any, first: int) -> tuple[str, list[Any]]:
        """The query with its placeholders numbered from ``$first``, and their values (a
        block in a comment has neither)."""
        bound = [piece for piece in self.pieces if isinstance(piece, int)]
        values = [self.blocks[number](context) for number in bound]
        order = {number: first + index for index, number in enumerate(bound)}
        text = "".join(
            piece if isinstance(piece, str) else f"${order[piece]}" for piece in self.pieces
        )
        return text, values
