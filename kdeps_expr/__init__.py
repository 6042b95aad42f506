"""kdeps_expr: the KDeps workflow expression engine."""

from .actions.chat import (
    ChatBackend,
    ChatReply,
    ChatRequest,
    ChatService,
    EchoChat,
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

__all__ = [
    "ActionError",
    "ChatBackend",
    "ChatReply",
    "ChatRequest",
    "ChatService",
    "ConflictError",
    "Context",
    "EchoChat",
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
