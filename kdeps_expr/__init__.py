"""kdeps_expr: the KDeps workflow expression engine.

``ChatBackend`` and ``EchoChat`` are deprecated names: reading one warns
(``DeprecationWarning``) and gives what :mod:`kdeps_expr.actions.chat` gives for it.
"""

from typing import Any

from .actions import chat as _chat
from .actions.chat import (
    ChatReply,
    ChatRequest,
    ChatService,
    LLMSettings,
)
from .errors import (
    ActionError,
    ConflictError,
    EvaluationError,
    ExprError,
    ExprSyntaxError,
    LimitError,
    StoreError,
    WorkflowError,
    WorkflowLoadError,
)
from .language import (
    Context,
    Engine,
    Expression,
    Function,
    Limits,
    Request,
    Template,
    ValueReading,
    WorkflowInfo,
)
from .sessions import SessionState
from .workflow import Response, Runner, Workflow, load_workflow


def __getattr__(name: str) -> Any:
    """The deprecated chat names (:data:`kdeps_expr.actions.chat.DEPRECATED`), with their
    warning."""
    if name in _chat.DEPRECATED:
        return _chat.deprecated(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ActionError",
    "ChatReply",
    "ChatRequest",
    "ChatService",
    "ConflictError",
    "Context",
    "Engine",
    "EvaluationError",
    "ExprError",
    "ExprSyntaxError",
    "Expression",
    "Function",
    "LLMSettings",
    "LimitError",
    "Limits",
    "Request",
    "Response",
    "Runner",
    "SessionState",
    "StoreError",
    "Template",
    "ValueReading",
    "Workflow",
    "WorkflowError",
    "WorkflowInfo",
    "WorkflowLoadError",
    "load_workflow",
]
