"""The command line: ``kdeps-expr eval|render|check|run|sessions|serve``.

Each subcommand has an ``_add_<name>`` function that declares its options and a
``_cmd_<name>`` function that runs it and returns the exit status. Every error a user can
cause is printed as one rendered message on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from .context import Context, Request, SessionState, request_json, utc_timestamp
from .engine import Engine
from .errors import ExprError
from .lint import check_resources
from .runner import Response, Runner, Trace
from .sessions import SessionStore, open_store_url
from .workflow import inspect_workflow, load_workflow

Command = Callable[[argparse.Namespace], int]


class _UsageError(Exception):
    """A malformed option value (``--query`` without ``=``, a ``--body`` that is not JSON)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdeps-expr",
        description="Evaluate KDeps expressions and run KDeps resource workflows.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_eval, _add_render, _add_check, _add_run, _add_sessions, _add_serve):
        add(commands)
    return parser


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    """``--query``, ``--header`` and ``--body``: the request an expression or workflow sees."""
    parser.add_argument(
        "--query", action="append", default=[], metavar="KEY=VALUE", help="a query parameter"
    )
    parser.add_argument(
        "--header", action="append", default=[], metavar="KEY=VALUE", help="a request header"
    )
    parser.add_argument("--body", metavar="JSON", help="the JSON request body")


def _pairs(option: str, items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` option values as a map (a later key wins)."""
    pairs: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise _UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _json_value(option: str, text: str) -> Any:
    """A JSON option value, parsed; integers stay integers."""
    try:
        return request_json(text)
    except json.JSONDecodeError as exc:
        raise _UsageError(f"{option} is not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:
        raise _UsageError(f"{option} is not valid JSON ({exc})") from None


def _json_pairs(option: str, items: Sequence[str]) -> dict[str, Any]:
    """``KEY=JSON`` option values as a map of parsed values."""
    return {
        key: _json_value(f"{option} {key}", text) for key, text in _pairs(option, items).items()
    }


def _request(args: argparse.Namespace) -> Request:
    """The request described by ``--query``, ``--header`` and ``--body``."""
    body = None if args.body is None else _json_value("--body", args.body)
    return Request(
        query=_pairs("--query", args.query), headers=_pairs("--header", args.header), body=body
    )


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _add_evaluation(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    subject: str,
    help_text: str,
    handler: Command,
) -> None:
    parser = commands.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
    parser.add_argument(subject.lower(), metavar=subject)
    _add_request_options(parser)
    parser.add_argument(
        "--session", action="append", default=[], metavar="KEY=JSON", help="a session value"
    )
    parser.add_argument(
        "--memory", action="append", default=[], metavar="KEY=JSON", help="a request memory value"
    )
    parser.add_argument(
        "--state",
        action="store_true",
        help='print {"value": ..., "session": {...}, "memory": {...}} to show what set() did',
    )
    parser.set_defaults(handler=handler)


def _add_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_evaluation(
        commands, "eval", "EXPR", "Evaluate one expression and print it as JSON.", _cmd_eval
    )


def _add_render(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_evaluation(
        commands,
        "render",
        "TEMPLATE",
        "Render a {{ }} / << >> template; prints the text, or JSON for a single block's value.",
        _cmd_render,
    )


def _evaluation_context(args: argparse.Namespace) -> Context:
    return Context(
        _request(args),
        session=SessionState(_json_pairs("--session", args.session)),
        memory=_json_pairs("--memory", args.memory),
    )


def _report(value: Any, context: Context, as_text: bool, state: bool) -> int:
    if state:
        _print_json({"value": value, "session": context.session.data, "memory": context.memory})
    elif as_text:
        print(value)
    else:
        _print_json(value)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    context = _evaluation_context(args)
    value = Engine().evaluate(args.expr, context)
    return _report(value, context, as_text=False, state=args.state)


def _cmd_render(args: argparse.Namespace) -> int:
    context = _evaluation_context(args)
    template = Engine().compile_template(args.template)
    value = template.render(context)
    return _report(value, context, as_text=not template.native, state=args.state)


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_text = "Load a workflow and print every error and warning; exit 1 on an error."
    parser = commands.add_parser("check", help=help_text, description=help_text, allow_abbrev=False)
    parser.add_argument("workflow", metavar="WORKFLOW", help="the workflow folder")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print how each value string was read: template, expression or text",
    )
    parser.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    inspection = inspect_workflow(args.workflow)
    warnings = check_resources(inspection.resources, inspection.values)
    for problem in [*inspection.errors, *warnings]:
        print(problem.render())
    if args.explain:
        for value in inspection.values:
            print(f"{value.site.location()}: {value.kind}: {value.text!r}")
    name = inspection.workflow.name if inspection.workflow else args.workflow
    print(
        f"{name}: {_count(len(inspection.resources), 'resource')}, "
        f"{_count(len(inspection.errors), 'error')}, {_count(len(warnings), 'warning')}"
    )
    return 1 if inspection.errors else 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_text = (
        "Run one request against a workflow and its configured session store, and print "
        "the response; exit 1 when its status is 400 or more."
    )
    parser = commands.add_parser("run", help=help_text, description=help_text, allow_abbrev=False)
    parser.add_argument("workflow", metavar="WORKFLOW", help="the workflow folder")
    parser.add_argument(
        "--action", metavar="ID", help="the resource to run (default: targetActionId)"
    )
    parser.add_argument(
        "--method", help="the HTTP method (default: the first of the action's route, else GET)"
    )
    parser.add_argument("--path", help="the request path (default: the action's route, else /)")
    _add_request_options(parser)
    parser.add_argument(
        "--session-id", metavar="ID", help="continue the session an earlier run returned"
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
    parser.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.workflow)
    action_id = args.action or workflow.target_action_id
    if action_id not in workflow.resources:
        known = ", ".join(sorted(workflow.resources))
        raise _UsageError(f"--action: unknown action {action_id!r} (actions: {known})")
    route = next((r for r in workflow.api_routes if r.action_id == action_id), None)
    request = dataclasses.replace(
        _request(args),
        method=(args.method or (route.methods[0] if route else "GET")).upper(),
        path=args.path or (route.path if route else "/"),
    )
    trace = Trace() if args.trace else None
    store = workflow.open_store()
    try:
        runner = Runner(workflow, workflow.engine, store, debug=args.debug)
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
        _print_json(
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


def _add_sessions(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_text = (
        "List, show, delete or purge the sessions in a workflow's session store, or in the "
        "store at --store URL."
    )
    parser = commands.add_parser(
        "sessions",
        help=help_text,
        description=help_text,
        allow_abbrev=False,
        usage="kdeps-expr sessions [-h] [--store URL] [WORKFLOW] {list,show ID,delete ID,purge}",
    )
    parser.add_argument(
        "words",
        nargs="+",
        metavar="[WORKFLOW] ACTION [ID]",
        help="the workflow folder (default: the current folder), then list (id, last use, "
        "expiry, key count), show ID (JSON), delete ID, or purge (delete expired sessions)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="a store instead of a workflow's: sqlite:///abs/path.db, sqlite:relative.db "
        "or redis://host:port/db",
    )
    parser.set_defaults(handler=_cmd_sessions)


_SESSION_ACTIONS = {"list": 0, "show": 1, "delete": 1, "purge": 0}


def _cmd_sessions(args: argparse.Namespace) -> int:
    words: list[str] = args.words
    workflow = None if words[0] in _SESSION_ACTIONS else words[0]
    action, *operands = words[0 if workflow is None else 1 :] or [""]
    if action not in _SESSION_ACTIONS:
        raise _UsageError(
            f"sessions: expected list, show ID, delete ID or purge, got {action or 'nothing'!r}"
        )
    if len(operands) != _SESSION_ACTIONS[action]:
        takes = "one ID" if _SESSION_ACTIONS[action] else "no argument"
        raise _UsageError(f"sessions {action} takes {takes}")
    if workflow is not None and args.store is not None:
        raise _UsageError("sessions: give a WORKFLOW or --store URL, not both")
    if args.store is not None:
        store = open_store_url(args.store, must_exist=True)
    else:
        store = load_workflow(workflow or ".").open_store(must_exist=True)
    try:
        if action == "list":
            _print_sessions(store)
        elif action == "purge":
            print(f"purged {_count(store.purge_expired(), 'expired session')}")
        elif action == "show":
            return _show_session(store, operands[0])
        elif store.delete(operands[0]):
            print(f"deleted session {operands[0]}")
        else:
            print(f"no live session {operands[0]!r}", file=sys.stderr)
            return 1
        return 0
    finally:
        store.close()


def _moment(seconds: float) -> str:
    """A stored time as UTC RFC 3339; ``never`` for no expiry, ``?`` for a foreign value."""
    try:
        return utc_timestamp(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, ValueError, OSError):
        return "never" if seconds == math.inf else "?"


def _print_sessions(store: SessionStore) -> None:
    """``sessions list``: one aligned row per live session, soonest expiry first."""
    rows = [
        (
            info.session_id,
            _moment(info.last_used),
            _moment(info.expires_at),
            "unreadable" if info.keys is None else str(info.keys),
        )
        for info in store.sessions()
    ]
    if not rows:
        print("no live sessions")
        return
    rows.insert(0, ("ID", "LAST USED", "EXPIRES", "KEYS"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def _show_session(store: SessionStore, session_id: str) -> int:
    """``sessions show ID``: the session as JSON, with its version and expiry."""
    snapshot = store.load(session_id)
    if snapshot is None:
        print(f"no live session {session_id!r}", file=sys.stderr)
        return 1
    shown = {
        "id": session_id,
        "version": snapshot.version,
        "expiresAt": _moment(snapshot.expires_at),
        "data": snapshot.data,
    }
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_text = (
        "Serve a workflow over HTTP: its settings.apiServer.routes, /actions/{actionId} and "
        "/health, with sessions in the kdeps_session_id cookie or the X-Session-ID header."
    )
    parser = commands.add_parser("serve", help=help_text, description=help_text, allow_abbrev=False)
    parser.add_argument("workflow", metavar="WORKFLOW", help="the workflow folder")
    parser.add_argument(
        "--host",
        help="the address to listen on (default: settings.apiServer.hostIp, else 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="the port (default: settings.apiServer.portNum, else 3000; 0 picks a free one)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="include the full error in 500 responses"
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (default: settings.apiServer.accessLog, else off)",
    )
    parser.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    # Imported here so that the other commands never load Starlette and uvicorn.
    from .server import serve

    workflow = load_workflow(args.workflow)
    return serve(
        workflow, host=args.host, port=args.port, debug=args.debug, access_log=args.access_log
    )


def _port(text: str) -> int:
    """An argparse type: a TCP port number, 0 to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, not {text!r}")
    return int(text)


_ID_OPTIONS = ("--session-id",)
"""Options whose value is a session id, which may begin with ``-`` (URL-safe base64)."""


def _attach_ids(argv: Sequence[str]) -> list[str]:
    """``--session-id -x…`` as ``--session-id=-x…``: argparse would read ``-x…`` as an option."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            joined.append(item)
            joined.extend(items)
            break
        if item in _ID_OPTIONS:
            value = next(items, None)
            joined.append(item if value is None else f"{item}={value}")
        else:
            joined.append(item)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 error, 2 usage, 70 bug,
    130 interrupted, 141 the output's reader went away)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # Text no terminal can take (a lone surrogate in a session another program
            # stored) prints as its \uXXXX escape instead of ending in a traceback.
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(_attach_ids(sys.argv[1:] if argv is None else argv))
    command: Command = args.handler
    try:
        return command(args)
    except _UsageError as exc:
        parser.error(str(exc))
    except ExprError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`kdeps-expr … | head`): stop quietly, with the status a
        # shell gives a command that SIGPIPE ended, and let nothing flush into the pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug of ours: one line for the user, never a traceback
        print(f"kdeps-expr: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
