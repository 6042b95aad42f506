"""Run one request against a workflow: the requires closure, the block order, the response.

:meth:`Runner.handle` runs the ``requires`` closure of the target resource (the order is
computed at load, see :attr:`~kdeps_expr.workflow.Workflow.plans`) inside one session
transaction (:func:`~kdeps_expr.sessions.transact`): the session is read at most once and
written once at the end, only when the request succeeded.

Inside one resource the order is SPEC §5's: ``skipCondition`` → ``restrictToHttpMethods``
/ ``restrictToRoutes`` → ``preflightCheck`` → ``exprBefore`` → ``chat`` → ``expr`` →
``exprAfter`` → ``apiResponse``. A resource's output (``get('<actionId>')``) is its chat
reply; a resource without a chat block has the data of its ``apiResponse`` as output.

Responses follow SPEC §6. A request fails, and leaves its session untouched, when a
preflight check fails (its code, its rendered message), when the target does not accept
the method (405) or the path (404), when an expression or the chat backend fails (500,
with the full error in the log and, only with ``debug``, in the body), and when the
session store fails (503). The answer is encoded inside the transaction, before the
session is written (:attr:`Response.content`), so nothing that fails after the commit can
leave a changed session behind an error.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ..actions.chat import ChatBackend, ChatRequest, EchoChat
from ..errors import EvaluationError, ExprError, StoreError
from ..language import values
from ..language.context import Context, Request
from ..language.engine import Engine
from ..sessions import SessionState, renew_keys, transact
from ..sessions.base import SessionStore
from ..sessions.codec import json_problem
from .model import DEFAULT_PREFLIGHT_MESSAGE, Preflight, Resource, Step, Workflow

logger = logging.getLogger("kdeps_expr.runner")
"""The name logging is configured by (kept when the runner moved into ``workflow/``)."""


def encode_body(body: Any) -> bytes:
    """A response body as it is sent: compact UTF-8 JSON. ``ValueError`` or ``TypeError``
    when JSON cannot carry it (a float that is not finite, text that is not Unicode)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@dataclass
class Response:
    """What a request answers: HTTP status, extra headers, the JSON body, the session id.

    ``content`` is ``body`` encoded (:func:`encode_body`) when the Response is made, which
    for a request's answer is before its session commits. ``session_id`` is set when the
    request created or used a session; the transport (CLI or server) returns it in the
    session cookie and the ``X-Session-ID`` header.
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    content: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.content = encode_body(self.body)


def error_body(
    status: int, message: str, request: Request, detail: str | None = None
) -> dict[str, Any]:
    """The SPEC §6 error body; ``detail`` (the rendered error) only when debugging."""
    error: dict[str, Any] = {"code": status, "message": message}
    if detail is not None:
        error["detail"] = detail
    return {"success": False, "error": error, "meta": _meta(request)}


def _meta(request: Request) -> dict[str, Any]:
    return {"requestId": request.request_id, "timestamp": request.timestamp}


class _ChatFailure(Exception):
    """The chat backend raised; the original exception is the cause."""


class _Refusal(Exception):
    """A request the workflow answers with an error status: preflight, 404, 405."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class _Answer:
    """The target's evaluated ``apiResponse``."""

    success: bool
    data: Any
    headers: dict[str, str]
    status: int


@dataclass
class ResourceTrace:
    """What one resource did: its outcome, and each block with its expressions' values."""

    action_id: str
    file: str
    outcome: str = "ran"
    blocks: list[tuple[str, list[tuple[str, Any]]]] = field(default_factory=list)


class Trace:
    """A request's evaluations, for ``kdeps-expr run --trace``.

    Pass one to :meth:`Runner.handle`; it records, per resource, the blocks that ran with
    each expression and its value, and the session keys the request changed.
    """

    def __init__(self) -> None:
        self.resources: list[ResourceTrace] = []
        self.session_changes: list[str] = []

    def start(self, resource: Resource) -> None:
        """A resource begins (a retried transaction starts the list again)."""
        self.resources.append(ResourceTrace(resource.action_id, resource.file))

    def block(self, name: str) -> None:
        self.resources[-1].blocks.append((name, []))

    def record(self, source: str, value: Any) -> None:
        self.resources[-1].blocks[-1][1].append((source, value))

    def outcome(self, text: str) -> None:
        self.resources[-1].outcome = text

    def compare_session(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Note each key the request added, changed or removed."""
        self.session_changes = [
            *(f"+ {k} = {_shown(v)}" for k, v in after.items() if k not in before),
            *(
                f"~ {k}: {_shown(before[k])} -> {_shown(v)}"
                for k, v in after.items()
                if k in before and before[k] != v
            ),
            *(f"- {k}" for k in before if k not in after),
        ]

    def render(self) -> str:
        lines: list[str] = []
        for resource in self.resources:
            lines.append(f"{resource.action_id} ({resource.file}): {resource.outcome}")
            for name, entries in resource.blocks:
                lines.append(f"  {name}")
                lines.extend(
                    f"    {_one_line(source)}  =>  {_shown(value)}" for source, value in entries
                )
        lines.append("session changes:" if self.session_changes else "session unchanged")
        lines.extend(f"  {change}" for change in self.session_changes)
        return "\n".join(lines)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _one_line(source: str) -> str:
    """A multi-line source (a block scalar) on one trace line, its breaks written ``\\n``."""
    return source.strip().replace("\n", "\\n")


class Runner:
    """Runs requests against one loaded workflow, its session store and a chat backend.

    ``engine`` is the Engine the workflow was loaded with (its expressions are already
    compiled); ``debug`` adds the full error to the body of a 500. One Runner serves many
    threads: every request gets its own :class:`~kdeps_expr.context.Context`.
    """

    def __init__(
        self,
        workflow: Workflow,
        engine: Engine,
        store: SessionStore,
        chat: ChatBackend | None = None,
        debug: bool = False,
    ) -> None:
        self.workflow = workflow
        self.engine = engine
        self.store = store
        self.chat: ChatBackend = chat if chat is not None else EchoChat()
        self.debug = debug
        self._action_ids = frozenset(workflow.resources)
        self._info = workflow.info
        self._renew_on = renew_keys(workflow.session_config)

    def handle(
        self,
        request: Request,
        action_id: str | None = None,
        session_id: str | None = None,
        trace: Trace | None = None,
    ) -> Response:
        """Run ``action_id`` (default: the workflow's target) for ``request``."""
        target = action_id or self.workflow.target_action_id
        plan = self.workflow.plans.get(target)
        if plan is None:
            return Response(404, error_body(404, f"unknown action {target!r}", request))

        def work(state: SessionState) -> tuple[tuple[Response, bool], bool]:
            outcome = self._run(plan, request, state, trace)
            return outcome, outcome[1]

        before = self._session_before(session_id) if trace is not None else {}
        try:
            (response, ok), state = transact(self.store, session_id, work, renew_on=self._renew_on)
        except StoreError as exc:
            message = f"session store failed (request {request.request_id})"
            logger.error("%s\n%s", message, exc.render())
            detail = exc.render() if self.debug else None
            return Response(503, error_body(503, message, request, detail))
        if trace is not None and ok and state.changed:
            trace.compare_session(before, state.data)
        if ok or state.version:
            response.session_id = state.existing_id
        return response

    def _session_before(self, session_id: str | None) -> dict[str, Any]:
        snapshot = self.store.load(session_id) if session_id else None
        return dict(snapshot.data) if snapshot else {}

    def _run(
        self,
        plan: tuple[Resource, ...],
        request: Request,
        state: SessionState,
        trace: Trace | None,
    ) -> tuple[Response, bool]:
        """Run every resource of ``plan``; the response and whether the request succeeded."""
        if trace is not None:
            trace.resources.clear()
        context = Context(request, session=state, action_ids=self._action_ids, workflow=self._info)
        target = plan[-1]
        try:
            for resource in plan:
                answer = self._resource(resource, context, trace, resource is target)
        except _Refusal as refusal:
            body = error_body(refusal.status, refusal.message, request)
            return Response(refusal.status, body, refusal.headers), False
        except ExprError as exc:
            failure = f"expression failed in {context.action_id}"
            return self._failure(failure, exc.render(), request, trace), False
        except _ChatFailure as exc:
            cause = exc.__cause__
            detail = f"{type(cause).__name__}: {cause}"
            return self._failure(
                f"chat failed in {context.action_id}", detail, request, trace, cause
            ), False
        except Exception as exc:  # a bug of ours still answers one JSON message, never a traceback
            detail = f"{type(exc).__name__}: {exc}"
            return self._failure(
                f"internal error in {context.action_id}", detail, request, trace, exc
            ), False
        if answer is None:
            answer = _Answer(True, context.outputs.get(target.action_id), {}, 200)
        body = {"success": answer.success, "data": answer.data, "meta": _meta(request)}
        try:
            return Response(answer.status, body, answer.headers), True
        except (TypeError, ValueError) as exc:  # a value check of ours let it through
            detail = f"the response cannot be sent as JSON: {exc}"
            return self._failure(
                f"internal error in {target.action_id}", detail, request, trace, exc
            ), False

    def _failure(
        self,
        failure: str,
        detail: str,
        request: Request,
        trace: Trace | None,
        cause: BaseException | None = None,
    ) -> Response:
        """A 500 whose message names the resource and request; the detail goes to the log.

        An exception ``cause`` (not an expression error) is logged with its traceback.
        """
        message = f"{failure} (request {request.request_id})"
        if cause is None:
            logger.error("%s\n%s", message, detail)
        else:
            logger.error("%s: %s", message, detail, exc_info=cause)
        if trace is not None and trace.resources:
            trace.outcome(f"failed: {detail}")
        body = error_body(500, message, request, detail if self.debug else None)
        return Response(500, body)

    def _resource(
        self, resource: Resource, context: Context, trace: Trace | None, is_target: bool
    ) -> _Answer | None:
        """Run one resource's blocks in order; the target's ``apiResponse`` when it has one."""
        action_id = context.action_id = resource.action_id
        if trace is not None:
            trace.start(resource)
        if self._skipped(resource, context, trace, is_target):
            return None
        if resource.preflight is not None:
            self._preflight(resource.preflight, context, trace)
        self._steps("exprBefore", resource.expr_before, context, trace)
        chat = resource.chat
        if chat is not None:
            if trace is not None:
                trace.block("chat")
            prompt = values.render(chat.prompt.evaluate(context, trace))
            model = (
                None if chat.model is None else values.render(chat.model.evaluate(context, trace))
            )
            chat_request = ChatRequest(
                prompt, action_id, model, chat.role, chat.backend, chat.timeout
            )
            try:
                reply = self.chat.reply(chat_request)
            except Exception as exc:
                raise _ChatFailure from exc
            problem = json_problem(reply)
            if problem is not None:
                raise _ChatFailure from TypeError(f"the reply is not a kdeps value: {problem}")
            if trace is not None:
                trace.record("reply", reply)
            context.outputs[action_id] = reply
        self._steps("expr", resource.expr, context, trace)
        self._steps("exprAfter", resource.expr_after, context, trace)
        api = resource.api_response
        if api is None:
            return None
        if trace is not None:
            trace.block("apiResponse")
        success = values.truthy(api.success.evaluate(context, trace))
        data = api.data.evaluate(context, trace)
        headers = {
            name: _header(name, value.evaluate(context, trace)) for name, value in api.headers
        }
        if chat is None:
            context.outputs[action_id] = data
        return _Answer(success, data, headers, api.status) if is_target else None

    def _skipped(
        self, resource: Resource, context: Context, trace: Trace | None, is_target: bool
    ) -> bool:
        """Apply ``skipCondition`` then the method and route restrictions."""
        if resource.skip_conditions:
            if trace is not None:
                trace.block("skipCondition")
            for step in resource.skip_conditions:
                if values.truthy(step.run(context, trace)):
                    if trace is not None:
                        trace.outcome(f"skipped: {step.source} is true")
                    return True
        request = context.request
        method = request.method.upper()
        if resource.methods is not None and method not in resource.methods:
            if is_target:
                allowed = ", ".join(sorted(resource.methods))
                message = f"method {method} not allowed for {resource.action_id}"
                raise _Refusal(405, message, {"Allow": allowed})
            if trace is not None:
                trace.outcome(f"skipped: method {method} not in restrictToHttpMethods")
            return True
        if resource.routes is not None and request.path not in resource.routes:
            if is_target:
                raise _Refusal(404, f"route {request.path} is not served by {resource.action_id}")
            if trace is not None:
                trace.outcome(f"skipped: route {request.path} not in restrictToRoutes")
            return True
        return False

    @staticmethod
    def _preflight(check: Preflight, context: Context, trace: Trace | None) -> None:
        """Fail the request with the configured error when a validation is false or raises."""
        if trace is not None:
            trace.block("preflightCheck")
        request_id = context.request.request_id
        for step in check.validations:
            try:
                passed = values.truthy(step.run(context, trace))
            except ExprError as exc:
                logger.warning(
                    "preflight validation raised in %s (request %s); counted as failed\n%s",
                    context.action_id,
                    request_id,
                    exc.render(),
                )
                passed = False
            if not passed:
                logger.info(
                    "preflight check failed in %s (request %s): %s at %s",
                    context.action_id,
                    request_id,
                    step.source,
                    step.site.location(),
                )
                if trace is not None:
                    trace.outcome(f"preflight check failed: {step.source}")
                message = (
                    DEFAULT_PREFLIGHT_MESSAGE
                    if check.message is None
                    else values.render(check.message.evaluate(context, trace))
                )
                raise _Refusal(check.code, message)

    @staticmethod
    def _steps(name: str, steps: tuple[Step, ...], context: Context, trace: Trace | None) -> None:
        if not steps:
            return
        if trace is not None:
            trace.block(name)
        for step in steps:
            step.run(context, trace)


_HEADER_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
"""A character an HTTP field value cannot carry (RFC 9110: VCHAR, obs-text, space, tab)."""


def _header(name: str, value: Any) -> str:
    """A response header value: the rendered value, refused when HTTP cannot carry it (a
    line break, another control character, a character beyond Latin-1)."""
    text = values.render(value)
    if "\r" in text or "\n" in text:
        raise EvaluationError(f"response header {name} must not contain a line break")
    bad = _HEADER_VALUE.search(text)
    if bad is not None:
        raise EvaluationError(f"response header {name} cannot carry the character {bad[0]!r}")
    return text
