"""A script or query field with template blocks, read for the language it is written in.

``exec.command`` (and the script after ``sh -c``), ``python.script`` and ``sql.query`` are
code in another language. Their template blocks never become code: a :class:`Script`
holds the reader of :mod:`kdeps_expr.actions` that decides, once at load, what each block
writes (a shell variable, a Python literal, a bound parameter) and refuses a block that
cannot stand where it is; for each request :meth:`Script.rendered` gives the code and the
values it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...actions.python_source import PythonScript
from ...actions.shell import ShellScript
from ...actions.sql import QueryTemplate
from ...errors import ExprError
from ...language.context import Context
from ..model import Dynamic, Tracer

Code = ShellScript | PythonScript | QueryTemplate


@dataclass(frozen=True, slots=True)
class Rendered:
    """A script or query for one request: its text, and the values its blocks carry.

    ``variables`` are a shell script's ``_KDEPS_Vn`` environment variables; ``values`` a
    query's bound parameters, numbered from the ``first`` given to :meth:`Script.rendered`.
    """

    text: str
    variables: dict[str, str] = field(default_factory=dict)
    values: list[Any] = field(default_factory=list)


class Script(Dynamic):
    """A template in a shell script, a Python script or a SQL query (SPEC §12)."""

    __slots__ = ("code",)

    def __init__(self, dynamic: Dynamic, code: Code) -> None:
        super().__init__(dynamic.source, dynamic.reading, dynamic.site)
        self.code = code

    def rendered(self, context: Context, tracer: Tracer | None, first: int = 1) -> Rendered:
        """The code for this request; an error is moved to its character of the file."""
        code = self.code
        try:
            if isinstance(code, ShellScript):
                text, variables = code.render(context)
                rendered = Rendered(text, variables=variables)
            elif isinstance(code, PythonScript):
                rendered = Rendered(code.render(context))
            else:
                text, values = code.render(context, first)
                rendered = Rendered(text, values=values)
        except ExprError as exc:
            self.site.place(exc)
            raise
        if tracer is not None:
            tracer.record(self.source, rendered.text)
        return rendered

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        """The code's text for this request (the values stay apart from it)."""
        return self.rendered(context, tracer).text
