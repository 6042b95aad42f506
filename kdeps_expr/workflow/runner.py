"""Run one request against a workflow: the requires closure, the responses (SPEC §5, §6).

:meth:`Runner.handle` runs the ``requires`` closure of the target resource (the order is
computed at load, see :attr:`~kdeps_expr.workflow.Workflow.plans`) inside one session
transaction (:func:`~kdeps_expr.sessions.transact`): the session is read at most once and
written once at the end, only when the request succeeded. Each resource runs as
:mod:`.execute` says (gates, body, items, loop, onError, apiResponse).

Responses follow SPEC §6. A request fails, and leaves its session untouched, when a check
or the input schema fails (their code), when the target does not accept the method (405)
or the path (404), when it reaches an action this engine does not run (501, naming the
resource and the action), when an action fails (its :class:`~kdeps_expr.errors.ActionError`
status: a model, an HTTP API or a database that cannot be reached or answers badly 502,
out of time 504, anything else 500, such as a process's non-zero exit; the message names
the resource and what failed), when an expression fails (500, with the full error in the
log and, only with ``debug``, in the body), and when the session store fails (503). The
answer is encoded inside the transaction, before the session is written
(:attr:`Response.content`), so nothing that fails after the commit can leave a changed
session behind an error.

A Runner holds the process's :class:`~kdeps_expr.actions.chat.ChatService` (made from
``settings.llm`` unless one is given) with its keep-alive connections to model servers,
and the executors' SQL pools and HTTP clients (their own unless ``connections`` are
given); :meth:`Runner.close` releases what it made.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ..actions.chat import ChatService
from ..actions.failures import ExecutorError
from ..errors import ActionError, ExprError, StoreError
from ..language.context import Context, Request
from ..language.engine import Engine
from ..sessions import SessionState, renew_keys, transact
from ..sessions.base import SessionStore
from .execute import Answer, ResourceRunner
from .executors import Connections, Executors
from .model import Resource, Workflow
from .outcomes import NotRun, Refusal
from .trace import ResourceTrace, Trace

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
    status: int,
    message: str,
    request: Request,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The SPEC §6 error body; ``detail`` (the rendered error) only when debugging;
    ``errors`` lists the input schema's failures, one per field."""
    error: dict[str, Any] = {"code": status, "message": message}
    if errors is not None:
        error["errors"] = errors
    if detail is not None:
        error["detail"] = detail
    return {"success": False, "error": error, "meta": _meta(request)}


def _meta(request: Request) -> dict[str, Any]:
    return {"requestId": request.request_id, "timestamp": request.timestamp}


class Runner:
    """Runs requests against one loaded workflow, its session store and its chat service.

    ``engine`` is the Engine the workflow was loaded with (its expressions are already
    compiled); ``chat`` is the :class:`~kdeps_expr.actions.chat.ChatService` chat resources
    talk through (default: one made from ``settings.llm`` and the environment, which
    :meth:`close` closes; a service passed in stays the caller's to close); ``connections``
    are the executors' SQL pools and HTTP clients (default: the Runner's own, which
    :meth:`close` disposes of; ``serve`` shares one set between the workflows a reload
    loads); ``debug`` adds the full error to the body of a 500. One Runner serves many
    threads: every request gets its own :class:`~kdeps_expr.context.Context`.
    """

    def __init__(
        self,
        workflow: Workflow,
        engine: Engine,
        store: SessionStore,
        chat: ChatService | None = None,
        debug: bool = False,
        connections: Connections | None = None,
    ) -> None:
        if chat is not None and not isinstance(chat, ChatService):
            raise TypeError(
                "Runner(chat=…) takes a ChatService (the reply() seam of ChatBackend was "
                f"replaced; docs/chat.md), not {type(chat).__name__}"
            )
        self.workflow = workflow
        self.engine = engine
        self.store = store
        self._owns_chat = chat is None
        self.chat = ChatService(workflow.llm_settings) if chat is None else chat
        self.debug = debug
        self._action_ids = frozenset(workflow.resources)
        self._info = workflow.info
        self.executors = Executors(workflow, connections)
        self._resources = ResourceRunner(self.chat, self.executors, engine.limits.regex_timeout)
        self._renew_on = renew_keys(workflow.session_config)

    def close(self) -> None:
        """Release the chat service's connections and the executors' pools and clients,
        when the Runner made them."""
        if self._owns_chat:
            self.chat.close()
        self.executors.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        answer: Answer | None = None
        try:
            for resource in plan:
                answer = self._resources.run(resource, context, trace, resource is target)
        except Refusal as refusal:
            body = error_body(refusal.status, refusal.message, request, errors=refusal.errors)
            return Response(refusal.status, body, refusal.headers), False
        except NotRun as exc:
            message = (
                f"{exc.action_id} uses {exc.what}, which this engine does not run "
                f"(request {request.request_id})"
            )
            logger.warning("%s", message)
            if trace is not None:
                trace.outcome(f"not run: {exc.what}")
            return Response(501, error_body(501, message, request)), False
        except ActionError as exc:
            return self._action_failure(exc, request, trace), False
        except ExprError as exc:
            failure = f"expression failed in {context.action_id}"
            return self._failure(failure, exc.render(), request, trace), False
        except Exception as exc:  # a bug of ours still answers one JSON message, never a traceback
            detail = f"{type(exc).__name__}: {exc}"
            return self._failure(
                f"internal error in {context.action_id}", detail, request, trace, exc
            ), False
        if answer is None:
            answer = Answer(True, context.outputs.get(target.action_id), {}, 200)
        body = {"success": answer.success, "data": answer.data, "meta": _meta(request)}
        try:
            return Response(answer.status, body, answer.headers), True
        except (TypeError, ValueError) as exc:  # a value check of ours let it through
            detail = f"the response cannot be sent as JSON: {exc}"
            return self._failure(
                f"internal error in {target.action_id}", detail, request, trace, exc
            ), False

    def _action_failure(
        self, error: ActionError, request: Request, trace: Trace | None
    ) -> Response:
        """An action that failed answers its status and its message (which names the
        resource and holds no secret); a detail for the log (stderr) stays there, and in
        the body only with ``debug``."""
        message = f"{error.message} (request {request.request_id})"
        stderr = error.detail if isinstance(error, ExecutorError) else None
        detail = f"stderr:\n{stderr.rstrip()}" if stderr and stderr.strip() else None
        logger.error("%s%s", message, f"\n{detail}" if detail else "")
        if trace is not None and trace.resources:
            trace.outcome(f"failed: {error.message}")
        body = error_body(error.status, message, request, detail if self.debug else None)
        return Response(error.status, body)

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


__all__ = ["ResourceTrace", "Response", "Runner", "Trace", "error_body"]
