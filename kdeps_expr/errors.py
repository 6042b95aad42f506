"""The one exception hierarchy of kdeps_expr, and the caret renderer every error uses.

Every error a user can cause is an :class:`ExprError`. Its data lives in attributes
(``message``, ``source``, ``offset``, ``line``, ``column``, ``where``) and ``str(error)``
renders it the same way everywhere::

    unknown name foo (1:5)
     | 1 + foo
     | ....^

or, once a loader has placed it in a file (``where`` is set)::

    resources/login.yaml:7:13: unknown name foo
     | - set('x', foo)
     | ............^
"""

from __future__ import annotations


class ExprError(Exception):
    """Base class of every error a user of kdeps_expr can cause."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        offset: int | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.offset = offset
        self.where = where
        self.line: int | None = None
        self.column: int | None = None
        self.source_line: str | None = None
        if source is not None and offset is not None:
            self.locate(source, offset)

    def locate(self, source: str, offset: int) -> ExprError:
        """Attach the position ``offset`` (0-based) inside ``source``; returns ``self``."""
        offset = max(0, min(offset, len(source)))
        self.source = source
        self.offset = offset
        line_start = source.rfind("\n", 0, offset) + 1
        line_end = source.find("\n", offset)
        self.line = source.count("\n", 0, offset) + 1
        self.column = offset - line_start + 1
        self.source_line = source[line_start : line_end if line_end != -1 else len(source)]
        return self

    def place(self, where: str, line: int, column: int, source_line: str) -> ExprError:
        """Move the error to ``where`` (a file), at a 1-based line and column of that file."""
        self.where = where
        self.line = line
        self.column = column
        self.source_line = source_line
        return self

    @property
    def located(self) -> bool:
        """True once the error knows the line and column it points at."""
        return self.line is not None

    def render(self) -> str:
        """The message, its position, the source line and a caret under the bad character."""
        if self.line is None or self.column is None:
            return f"{self.where}: {self.message}" if self.where else self.message
        if self.where:
            head = f"{self.where}:{self.line}:{self.column}: {self.message}"
        else:
            head = f"{self.message} ({self.line}:{self.column})"
        text = (self.source_line or "").expandtabs(1)
        return f"{head}\n | {text}\n | {'.' * (self.column - 1)}^"

    def __str__(self) -> str:
        return self.render()


class ExprSyntaxError(ExprError):
    """The text is not a valid expression or template."""


class EvaluationError(ExprError):
    """An expression failed while it ran: a wrong type, a missing function, 1 / 0."""


class LimitError(EvaluationError):
    """A configured limit was breached: source size, nesting, string size, regex time."""


class WorkflowError(ExprError):
    """A workflow or resource file cannot be loaded."""


class WorkflowWarning(ExprError):
    """A likely mistake in a workflow that loads: ``check`` prints it (``--strict`` fails on
    it), ``run`` and ``serve`` log it; it is never raised."""

    def __init__(self, message: str) -> None:
        super().__init__(f"warning: {message}")


class SettingError(WorkflowError):
    """A setting of ``workflow.yaml`` that cannot be used; ``path`` names it inside
    ``settings`` (``("session", "ttl")``) so a loader can point at it in the file: at its
    value, or at its key when the key itself is the problem (``on_key``)."""

    def __init__(self, message: str, path: tuple[str, ...], *, on_key: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.on_key = on_key


class WorkflowLoadError(WorkflowError):
    """A workflow that cannot be loaded; ``errors`` holds every problem found, in file order."""

    def __init__(self, errors: list[ExprError]) -> None:
        count = len(errors)
        super().__init__(f"{count} error{'' if count == 1 else 's'} in the workflow")
        self.errors = errors

    def render(self) -> str:
        return "\n".join(error.render() for error in self.errors)


class StoreError(ExprError):
    """A session store failed: unreachable, corrupted data, a value it cannot hold."""


class ConflictError(StoreError):
    """A session changed between its load and its save (optimistic concurrency)."""


class ActionError(ExprError):
    """A resource's primary action failed: a model, an HTTP API, a database, a process.

    ``status`` is the HTTP status the request answers: 502 when the upstream failed or
    answered badly, 504 when it timed out, 500 otherwise. The message names the resource
    and what failed, and never holds a secret (an API key, a password in a URL).
    """

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.status = status
