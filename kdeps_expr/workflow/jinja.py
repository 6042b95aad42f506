"""Files whose name ends in ``.j2``: rendered by Jinja2 before YAML reads them (SPEC §5).

The context is one variable, ``env`` (the process environment). The environment is
sandboxed (a shared resource file cannot reach Python internals through ``env``) and an
undefined name is an error rather than empty text. Errors point at the line of the ``.j2``
file, with the caret on the name when the line holds it, and say what went wrong in
KDeps terms: an unset environment variable is named, and a KDeps function (``get``,
``set``, ``info``, …) met by Jinja2 gets the advice to write ``<< >>``, which Jinja2 leaves
alone and which becomes a runtime template.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Collection
from typing import Any, NoReturn

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import WorkflowError
from .yamlsource import SourceFile

_TEMPLATE_NAME = "<template>"
_UNDEFINED_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined")


class environ(dict[str, str]):
    """``env`` in a ``.j2`` file: the process environment."""


class _Undefined(jinja2.StrictUndefined):
    """An undefined name or attribute: an error that says which environment variable is
    not set, when that is what it is."""

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if isinstance(self._undefined_obj, environ) and self._undefined_hint is None:
            name = self._undefined_name
            raise jinja2.UndefinedError(f"the environment variable {name} is not set (env.{name})")
        super()._fail_with_undefined_error(*args, **kwargs)

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __hash__ = _fail_with_undefined_error


_JINJA = SandboxedEnvironment(undefined=_Undefined, keep_trailing_newline=True, autoescape=False)


def render_j2(source: SourceFile, functions: Collection[str]) -> str:
    """``source`` rendered with ``env``; a :class:`WorkflowError` at its ``.j2`` line.

    ``functions`` are the expression language's function names: Jinja2 meeting one of them
    means a ``{{ }}`` meant for run time, and the error says to write ``<< >>``.
    """
    text = source.text
    try:
        return _JINJA.from_string(text).render(env=environ(os.environ))
    except jinja2.TemplateSyntaxError as exc:
        line = min(exc.lineno, len(text.splitlines()) or 1)
        message = exc.message or "invalid template"
    except jinja2.TemplateError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        lines = [frame.lineno for frame in frames if frame.filename == _TEMPLATE_NAME]
        line = lines[-1] if lines and lines[-1] else 1
        message = str(exc)
    error = WorkflowError(f"Jinja2 template error: {message}")
    column = 0
    found = _UNDEFINED_NAME.search(message)
    if found is not None and found[1] in functions:
        name = found[1]
        error.message += (
            f"; {{{{ }}}} in a .j2 file belongs to Jinja2, so {name}() is not known there: "
            f"write << {name}(…) >> for an expression evaluated at run time"
        )
        column = max(source.line_text(line).find(name + "("), 0)
    elif found is not None or "environment variable" in message:
        name = found[1] if found is not None else message.split()[3]
        column = max(source.line_text(line).find(name), 0)
    source.place(error, source.line_start(line) + column)
    raise error
