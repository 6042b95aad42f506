"""The command line: ``kdeps-expr eval|render|check|schema|run|sessions|serve``.

Each command lives in its own module with a ``register(commands)`` function that declares
its options and a handler that runs it and returns the exit status. Every error a user can
cause is printed as one rendered message on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from ..errors import ExprError
from . import check, evaluate, graph, new, playground, repl, run, schema, serve, sessions
from .common import Command, UsageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdeps-expr",
        description="Evaluate KDeps expressions and run KDeps resource workflows.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"kdeps-expr {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (
        evaluate,
        check,
        schema,
        run,
        sessions,
        serve,
        graph,
        new,
        playground,
        repl,
    ):
        command.register(commands)
    return parser


def _version() -> str:
    try:
        return version("kdeps_expr")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


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
    if args.command is None:  # bare `kdeps-expr`: what it can do
        parser.print_help()
        return 0
    command: Command = args.handler
    try:
        return command(args)
    except UsageError as exc:
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
