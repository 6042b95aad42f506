"""Run one resource for a request: its gates, its body (items, loop, onError), its answer.

The order is SPEC §5's, whatever layout the resource was written in: the allow-lists
(``validations.headers``/``params``: only the listed names are readable), ``skip`` (any
true skips the resource), ``methods``/``routes`` (a mismatch skips a dependency; the
target answers 405/404), ``check`` (the preflight), the input schema; then the body, which
``onError`` wraps: ``loop`` (while / maxIterations / every) around ``items`` around one
pass of ``before`` → the action → ``after`` → ``apiResponse``.

With ``items``, ``skip`` is evaluated once per item, where ``get('current')`` is the item
(as KDeps' docs use it): a true one leaves that item out. The output of an iterated
resource is the list of per-item (per-iteration) outputs, and its answer the list of the
per-item ``apiResponse`` data.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..actions import ACTIONS_RUN
from ..actions.chat import ChatService
from ..actions.failures import ExecutorError
from ..errors import ActionError, EvaluationError, ExprError
from ..language import values
from ..language.context import Context, ItemFrame, LoopFrame, Request
from ..language.functions.scope import ERROR_KEY
from .chat import run_chat
from .executors import EXECUTOR_KINDS, Executors
from .inputs import failure_text, input_failures
from .model import (
    DEFAULT_PREFLIGHT_MESSAGE,
    Action,
    ApiResponse,
    Block,
    OnError,
    Preflight,
    Resource,
    Step,
)
from .outcomes import NotRun, Refusal
from .routes import any_route_matches
from .trace import Trace

logger = logging.getLogger("kdeps_expr.runner")

INLINE_OUTPUT_KEY = "_output"
"""The request-memory key that holds the output of the last inline action of a block."""
RETRY_DELAY_MAX = 30.0
"""The longest pause between two ``onError`` retries, in seconds (the delay doubles)."""
TIMEOUT_STATUS = 504
"""An action that failed with this status ran out of time: ``error.type`` is ``TIMEOUT``."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A target's evaluated ``apiResponse``."""

    success: bool
    data: Any
    headers: dict[str, str]
    status: int


@dataclass(slots=True)
class _Result:
    """What one pass (or every iteration) of a body gave: the output, the answer, and what
    a target without ``apiResponse`` answers (``data``: a chat's reply text)."""

    output: Any
    answer: Answer | None
    data: Any


class ResourceRunner:
    """Runs resources; holds no per-request state (one serves every thread)."""

    def __init__(
        self,
        chat: ChatService,
        executors: Executors,
        regex_timeout: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.chat = chat
        self.executors = executors
        self.regex_timeout = regex_timeout
        self.sleep = sleep

    def run(
        self, resource: Resource, context: Context, trace: Trace | None, is_target: bool
    ) -> Answer | None:
        """Run ``resource``; its output goes to ``context.outputs``; the target's answer."""
        context.action_id = resource.action_id
        if trace is not None:
            trace.start(resource)
        request = context.request
        context.request = _visible(request, resource)
        try:
            if self._gated(resource, context, trace, is_target):
                return None
            result = self._guarded(resource, context, trace)
        finally:
            context.request = request
            context.item = context.loop = None
        context.outputs[resource.action_id] = result.output
        if not is_target:
            return None
        return result.answer or Answer(True, result.data, {}, 200)

    # -- gates ---------------------------------------------------------------------------

    def _gated(
        self, resource: Resource, context: Context, trace: Trace | None, is_target: bool
    ) -> bool:
        """True when the resource is skipped; raises :class:`Refusal` to end the request."""
        if resource.items is None and _skips(resource, context, trace):
            return True
        request = context.request
        method = request.method.upper()
        if resource.methods is not None and method not in resource.methods:
            if is_target:
                allowed = ", ".join(sorted(resource.methods))
                message = f"method {method} not allowed for {resource.action_id}"
                raise Refusal(405, message, {"Allow": allowed})
            if trace is not None:
                trace.outcome(f"skipped: method {method} not in the resource's methods")
            return True
        if resource.routes is not None and not any_route_matches(resource.routes, request.path):
            if is_target:
                raise Refusal(404, f"route {request.path} is not served by {resource.action_id}")
            if trace is not None:
                trace.outcome(f"skipped: route {request.path} not in the resource's routes")
            return True
        if resource.preflight is not None:
            _preflight(resource.preflight, context, trace, _label(resource, "check"))
        if resource.inputs is not None:
            if trace is not None and resource.inputs.custom:
                trace.block("input validation")
            failures = input_failures(resource.inputs, context, trace, self.regex_timeout)
            if failures:
                if trace is not None:
                    trace.outcome(f"input validation failed: {failure_text(failures)}")
                raise Refusal(resource.inputs.code, failure_text(failures), errors=failures)
        return False

    # -- onError -------------------------------------------------------------------------

    def _guarded(self, resource: Resource, context: Context, trace: Trace | None) -> _Result:
        """The body under ``onError``: retried, given a fallback, or failing as it failed."""
        policy = resource.on_error
        if policy is None:
            return self._looped(resource, context, trace)
        attempts = 1 + (policy.max_retries if policy.action == "retry" else 0)
        delay = policy.retry_delay
        for attempt in range(1, attempts + 1):
            saved = _Checkpoint(context)
            try:
                return self._looped(resource, context, trace)
            except ExprError as exc:
                saved.restore(context)
                error = _error_object(exc)
                if policy.when and not _any_true(policy.when, error, context, trace):
                    raise
                if attempt < attempts:
                    logger.warning(
                        "%s failed (attempt %d of %d, request %s); retrying in %gs: %s",
                        resource.action_id,
                        attempt,
                        attempts,
                        context.request.request_id,
                        delay,
                        error["message"],
                    )
                    self.sleep(delay)
                    delay = min(delay * 2, RETRY_DELAY_MAX)
                    continue
                return _handled(policy, exc, error, context, trace)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- loop and items ------------------------------------------------------------------

    def _looped(self, resource: Resource, context: Context, trace: Trace | None) -> _Result:
        loop = resource.loop
        if loop is None:
            return self._itemized(resource, context, trace)
        if loop.at:
            raise NotRun(resource.action_id, "loop.at")
        frame = LoopFrame(0)
        results: list[_Result] = []
        while frame.index < loop.max_iterations:
            context.loop = frame
            if trace is not None:
                trace.block(f"iteration {frame.index + 1}")
            if loop.condition is not None and not values.truthy(loop.condition.run(context, trace)):
                break
            if results and loop.every:
                self.sleep(loop.every)
            result = self._itemized(resource, context, trace)
            results.append(result)
            frame.results.append(result.output)
            frame.index += 1
        return _combined(results, resource.api_response)

    def _itemized(self, resource: Resource, context: Context, trace: Trace | None) -> _Result:
        if resource.items is None:
            return self._once(resource, context, trace)
        if trace is not None:
            trace.block("items")
        items: list[Any] = []
        for value in resource.items:
            found = value.evaluate(context, trace)
            items.extend(found if isinstance(found, list) else [found])
        results: list[_Result] = []
        for index in range(len(items)):
            context.item = ItemFrame(items, index)
            if trace is not None:
                trace.block(f"item {index + 1} of {len(items)}")
            if _skips(resource, context, trace):
                continue
            results.append(self._once(resource, context, trace))
        context.item = None
        return _combined(results, resource.api_response)

    # -- one pass ------------------------------------------------------------------------

    def _once(self, resource: Resource, context: Context, trace: Trace | None) -> _Result:
        """``before`` → the action → ``after`` → ``apiResponse``."""
        self._blocks(resource.before, context, trace)
        output = data = None
        if resource.action is not None:
            output, data = self._action(resource.action, context, trace)
            context.outputs[resource.action_id] = output  # for after: and apiResponse, as KDeps
        self._blocks(resource.after, context, trace)
        api = resource.api_response
        if api is None:
            return _Result(output, None, data)
        answer = _answer(api, context, trace)
        return _Result(output if resource.action is not None else answer.data, answer, answer.data)

    def _blocks(self, blocks: tuple[Block, ...], context: Context, trace: Trace | None) -> None:
        for block in blocks:
            if trace is not None:
                trace.block(block.name)
            for entry in block.entries:
                if isinstance(entry, Step):
                    entry.run(context, trace)
                else:
                    context.memory[INLINE_OUTPUT_KEY] = self._action(entry, context, trace)[0]

    def _action(self, action: Action, context: Context, trace: Trace | None) -> tuple[Any, Any]:
        """Run one action (primary or inline): its output, and what a target without
        ``apiResponse`` answers."""
        if action.kind not in ACTIONS_RUN:
            raise NotRun(context.action_id, action.kind)
        if trace is not None:
            trace.block(action.kind)
        if action.kind in EXECUTOR_KINDS:
            output = self.executors.run(action, context, trace)
            return output, output
        reply = run_chat(action, context, trace, self.chat)
        return reply.output, reply.data


def _visible(request: Request, resource: Resource) -> Request:
    """The request as the resource sees it: only the allow-listed headers and params."""
    headers, params = resource.allowed_headers, resource.allowed_params
    if headers is None and params is None:
        return request
    changes: dict[str, Any] = {}
    if headers is not None:
        changes["headers"] = {k: v for k, v in request.headers.items() if k in headers}
    if params is not None:
        changes["query"] = {k: v for k, v in request.query.items() if k in params}
        if isinstance(request.body, dict):
            changes["body"] = {k: v for k, v in request.body.items() if k in params}
    return dataclasses.replace(request, **changes)


def _label(resource: Resource, name: str) -> str:
    """A block's name in ``--trace`` as the resource's layout spells it."""
    if resource.layout != "A":
        return name
    return {"skip": "skipCondition", "check": "preflightCheck"}[name]


def _skips(resource: Resource, context: Context, trace: Trace | None) -> bool:
    """Any true ``skip`` condition skips (the resource, or with items this item)."""
    conditions = resource.skip_conditions
    if not conditions:
        return False
    if trace is not None:
        trace.block(_label(resource, "skip"))
    for step in conditions:
        if values.truthy(step.run(context, trace)):
            if trace is not None and context.item is None:
                trace.outcome(f"skipped: {step.source} is true")
            return True
    return False


def _preflight(check: Preflight, context: Context, trace: Trace | None, label: str) -> None:
    """Refuse the request with the configured error when a condition is false or raises."""
    if trace is not None:
        trace.block(label)
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
            raise Refusal(check.code, message)


def _answer(api: ApiResponse, context: Context, trace: Trace | None) -> Answer:
    if trace is not None:
        trace.block("apiResponse")
    success = values.truthy(api.success.evaluate(context, trace))
    data = api.data.evaluate(context, trace)
    headers = {name: _header(name, value.evaluate(context, trace)) for name, value in api.headers}
    return Answer(success, data, headers, api.status)


def _combined(results: list[_Result], api: ApiResponse | None) -> _Result:
    """Iterations as one result: the list of outputs; the list of answers' data."""
    outputs = [result.output for result in results]
    if api is None:
        return _Result(outputs, None, [result.data for result in results])
    answers = [result.answer for result in results if result.answer is not None]
    headers: dict[str, str] = {}
    for answer in answers:
        headers.update(answer.headers)
    answer = Answer(
        all(answer.success for answer in answers),
        [answer.data for answer in answers],
        headers,
        answers[-1].status if answers else api.status,
    )
    return _Result(outputs, answer, answer.data)


class _Checkpoint:
    """What an attempt may change and a failed one must not leave behind: request memory,
    outputs, and the session (loaded here, so its state before the attempt is known)."""

    def __init__(self, context: Context) -> None:
        self.memory = dict(context.memory)
        self.outputs = dict(context.outputs)
        self.session = dict(context.session.data)
        self.changed = context.session.changed

    def restore(self, context: Context) -> None:
        context.memory.clear()
        context.memory.update(self.memory)
        context.outputs.clear()
        context.outputs.update(self.outputs)
        data = context.session.data
        data.clear()
        data.update(self.session)
        context.session.changed = self.changed


def _error_object(exc: ExprError) -> dict[str, Any]:
    """KDeps' ``error`` object for ``onError``: message, type, code; for a failed action
    also its ``statusCode`` and, when it has one, the output it failed with (``details``:
    exec's and python's stdout, stderr and exit code)."""
    timed_out = isinstance(exc, ActionError) and exc.status == TIMEOUT_STATUS
    kind = "TIMEOUT" if timed_out else "execution_error"
    error: dict[str, Any] = {"message": exc.message, "type": kind, "code": kind}
    if isinstance(exc, ActionError):
        error["statusCode"] = exc.status
    if isinstance(exc, ExecutorError) and exc.output is not None:
        error["details"] = exc.output
    return error


def _with_error(context: Context, error: dict[str, Any], run: Callable[[], Any]) -> Any:
    """``run()`` with the failure readable as ``error`` (and ``get('error')``)."""
    memory = context.memory
    previous = memory.get(ERROR_KEY, _ABSENT)
    memory[ERROR_KEY] = error
    try:
        return run()
    finally:
        if previous is _ABSENT:
            memory.pop(ERROR_KEY, None)
        else:
            memory[ERROR_KEY] = previous


_ABSENT: Any = object()


def _any_true(
    conditions: tuple[Step, ...], error: dict[str, Any], context: Context, trace: Trace | None
) -> bool:
    """``onError.when``: a condition that raises counts as false (and is logged)."""

    def check() -> bool:
        for step in conditions:
            try:
                if values.truthy(step.run(context, trace)):
                    return True
            except ExprError as exc:
                logger.warning("onError.when raised in %s\n%s", context.action_id, exc.render())
        return False

    return bool(_with_error(context, error, check))


def _handled(
    policy: OnError,
    exc: ExprError,
    error: dict[str, Any],
    context: Context,
    trace: Trace | None,
) -> _Result:
    """The final failure: ``onError.expr`` runs, then ``continue`` gives the fallback as the
    output, and ``fail``/``retry`` fail the request as the body failed."""

    def after_failure() -> Any:
        for step in policy.expr:
            try:
                step.run(context, trace)
            except ExprError as failure:
                logger.warning("onError.expr raised in %s\n%s", context.action_id, failure.render())
        if policy.action != "continue":
            return None
        if policy.fallback is None:  # KDeps' map, beside the output the action failed with
            failed = error.get("details")
            kept = failed if isinstance(failed, dict) else {}
            return {**kept, "_error": {"message": error["message"], "handled": True}}
        return policy.fallback.evaluate(context, trace)

    if trace is not None:
        trace.block("onError")
    output = _with_error(context, error, after_failure)
    if policy.action != "continue":
        raise exc
    logger.info(
        "%s failed and continued with its fallback: %s", context.action_id, error["message"]
    )
    if trace is not None:
        trace.outcome(f"failed, continued: {error['message']}")
    return _Result(output, None, output)


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


_HEADER_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
"""A character an HTTP field value cannot carry (RFC 9110: VCHAR, obs-text, space, tab)."""
