"""How an executor fails: one :class:`ExecutorError` naming the resource, with a status.

Every executor (httpClient, sql, exec, python) raises :class:`ExecutorError`, an
:class:`~kdeps_expr.errors.ActionError`: ``status`` is 502 when the upstream (a server,
a database) failed or could not be reached, 504 when the action ran out of time, 500
otherwise. ``message`` reads ``<action> failed in <actionId>: <what>`` and holds no
secret. ``output`` is what KDeps would have stored as the resource's output alongside its
error (exec and python return their stdout, stderr and exit code that way; ``None`` for
the others), so an ``onError: continue`` resource can still read it. ``detail`` is for the
log only (a process's stderr), never for a client.
"""

from __future__ import annotations

from typing import Any

from ..errors import ActionError, WorkflowError
from ..language.engine import Expression, Template

UPSTREAM = 502
TIMEOUT = 504
INTERNAL = 500
REDACTED = "[redacted]"
"""What stands in a message, a log line or a trace for a secret (an API key)."""


class ExecutorError(ActionError):
    """A failed executor: a message naming the resource, a status, KDeps' failure output."""

    def __init__(
        self,
        action: str,
        action_id: str,
        what: str,
        *,
        status: int = INTERNAL,
        output: Any = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(f"{action} failed in {action_id}: {what}", status=status)
        self.action = action
        self.action_id = action_id
        self.what = what
        self.output = output
        self.detail = detail


def seconds(value: float) -> str:
    """A timeout as the error message says it: ``2s``, ``0.5s``, ``1m30s`` stays seconds."""
    return f"{value:g}s"


def misplaced_block(template: Template, block: Expression, where: str, why: str) -> WorkflowError:
    """The load error for a template block that cannot stand where it is in ``where`` (a
    ``shell script``, a ``SQL query``…); its ``offset`` is the block's opening delimiter."""
    return WorkflowError(
        f"a template cannot stand here in a {where}: {why}",
        source=template.source,
        offset=max(block.start - 2, 0),
    )
