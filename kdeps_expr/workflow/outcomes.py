"""How a resource ends a request early: a refusal to the client, an action not run here.
The runner turns each into its answer (SPEC §5, §6); an action that fails raises an
:class:`~kdeps_expr.errors.ActionError`, which carries its own status."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A request the workflow answers with an error status: a failed check (its code), the
    input schema (400 naming each field), a method (405) or route (404) the target refuses.

    ``errors`` lists the input schema's failures (``{field, type, message}``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.errors = errors


class NotRun(Exception):
    """A request reached an action (or ``loop.at``) this engine does not run: 501."""

    def __init__(self, action_id: str, what: str) -> None:
        super().__init__(f"{action_id} uses {what}")
        self.action_id = action_id
        self.what = what
