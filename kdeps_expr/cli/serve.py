"""``serve``: a workflow over HTTP."""

from __future__ import annotations

import argparse

from ..workflow.loader import load_workflow
from .common import Subcommands, UsageError, add_command


def register(commands: Subcommands) -> None:
    """``serve WORKFLOW [--host H] [--port P] [--workers N] [--reload] [--playground] …``."""
    help_text = (
        "Serve a workflow over HTTP: its settings.apiServer.routes, /actions/{actionId} and "
        "/health, with sessions in the kdeps_session_id cookie or the X-Session-ID header."
    )
    parser = add_command(commands, "serve", help_text, _cmd_serve, workflow=True)
    parser.add_argument(
        "--host",
        help="the address to listen on (default: settings.apiServer.hostIp, else 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        help="the port (default: settings.apiServer.portNum, else 3000; 0 picks a free one)",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="N",
        help="serve with N worker processes on the one port (default 1: this process "
        "alone); needs a sqlite, redis or postgres session store, and no --reload",
    )
    parser.add_argument(
        "--debug", action="store_true", help="include the full error in 500 responses"
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (default: settings.apiServer.accessLog, else off)",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="load the workflow again when one of its YAML files changes; a version that "
        "fails to load is logged and the previous one keeps serving",
    )
    parser.add_argument(
        "--playground",
        action="store_true",
        help="also serve the playground page for this workflow at /_playground/",
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    # Imported here so that the other commands never load Starlette and uvicorn.
    from ..server import serve, workers_refusal

    workflow = load_workflow(args.workflow)
    refusal = workers_refusal(args.workers, workflow, reloading=args.reload)
    if refusal is not None:
        raise UsageError(refusal)
    return serve(
        workflow,
        host=args.host,
        port=args.port,
        debug=args.debug,
        access_log=args.access_log,
        playground=args.playground,
        reload_from=args.workflow if args.reload else None,
        workers=args.workers,
    )


def port_number(text: str) -> int:
    """An argparse type: a TCP port number, 0 to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, not {text!r}")
    return int(text)


def worker_count(text: str) -> int:
    """An argparse type: a number of worker processes, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 up, not {text!r}")
    return int(text)
