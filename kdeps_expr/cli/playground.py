"""``playground``: a web page to try expressions and templates (docs/playground.md)."""

from __future__ import annotations

import argparse

from ..workflow.loader import load_workflow
from .common import Subcommands, add_command
from .serve import port_number


def register(commands: Subcommands) -> None:
    """``playground [WORKFLOW] [--host] [--port]``."""
    help_text = (
        "Serve a web page to try expressions and templates against a request and a "
        "session, and, given a workflow, to see how each of its value strings was read "
        "and its requires graph."
    )
    parser = add_command(commands, "playground", help_text, _cmd_playground)
    parser.add_argument(
        "workflow", metavar="WORKFLOW", nargs="?", help="a workflow folder to try things beside"
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=3100, help="the port (default: 3100; 0 picks one)"
    )


def _cmd_playground(args: argparse.Namespace) -> int:
    from ..server.run import serve_playground  # Starlette and uvicorn only for this command

    workflow = load_workflow(args.workflow) if args.workflow else None
    return serve_playground(workflow, host=args.host, port=args.port)
