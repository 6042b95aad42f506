"""``run``: one request against a workflow and its session store, printed as HTTP would show it."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from http import HTTPStatus

from ..workflow.loader import load_workflow
from ..workflow.runner import Response, Runner, Trace
from .common import (
    Subcommands,
    UsageError,
    add_command,
    add_request_options,
    print_json,
    request_from,
)


def register(commands: Subcommands) -> None:
    """``run WORKFLOW``: one request."""
    help_text = (
        "Run one request against a workflow and its configured session store, and print "
        "the response; exit 1 when its status is 400 or more."
    )
    parser = add_command(commands, "run", help_text, _cmd_run, workflow=True)
    parser.add_argument(
        "--action", metavar="ID", help="the resource to run (default: targetActionId)"
    )
    parser.add_argument(
        "--method", help="the HTTP method (default: the first of the action's route, else GET)"
    )
    parser.add_argument("--path", help="the request path (default: the action's route, else /)")
    add_request_options(parser)
    parser.add_argument(
        "--session-id",
        metavar="ID",
        help="continue the session an earlier run returned (an unknown or expired one is "
        "said on stderr, and the request starts a new session)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"status", "headers", "body", "sessionId"} as one JSON document',
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print to stderr each resource's blocks, expressions and values, "
        "and the session keys the request changed",
    )
    parser.add_argument(
        "--debug", action="store_true", help="include the full error in a 500 response"
    )


def _cmd_run(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.workflow)
    for warning in workflow.warnings:  # one line each; `check` shows them in full
        print(warning.render().splitlines()[0], file=sys.stderr)
    action_id = args.action or workflow.target_action_id
    if action_id not in workflow.resources:
        known = ", ".join(sorted(workflow.resources))
        raise UsageError(f"--action: unknown action {action_id!r} (actions: {known})")
    route = next((r for r in workflow.api_routes if r.action_id == action_id), None)
    request = dataclasses.replace(
        request_from(args),
        method=(args.method or (route.methods[0] if route else "GET")).upper(),
        path=args.path or (route.path if route else "/"),
    )
    trace = Trace() if args.trace else None
    store = workflow.open_store()
    try:
        store.check()
        with Runner(workflow, workflow.engine, store, debug=args.debug) as runner:
            if args.session_id is not None and store.load(args.session_id) is None:
                print(
                    f"kdeps-expr: no live session {args.session_id!r} (unknown or expired): "
                    "this request starts a new one",
                    file=sys.stderr,
                )
            response = runner.handle(request, action_id, args.session_id, trace)
    finally:
        store.close()
    if trace is not None:
        print(trace.render(), file=sys.stderr)
    _print_response(response, args.json)
    return 0 if response.status < 400 else 1


def _print_response(response: Response, as_json: bool) -> None:
    """The response as a JSON document, or as HTTP shows it: status, headers, body."""
    headers = {"Content-Type": "application/json", **response.headers}
    if response.session_id is not None:
        headers["X-Session-ID"] = response.session_id
    if as_json:
        print_json(
            {
                "status": response.status,
                "headers": headers,
                "body": response.body,
                "sessionId": response.session_id,
            }
        )
        return
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    print(f"HTTP {response.status} {reason}".rstrip())
    for name, value in headers.items():
        print(f"{name}: {value}")
    print()
    print(json.dumps(response.body, ensure_ascii=False, indent=2))
