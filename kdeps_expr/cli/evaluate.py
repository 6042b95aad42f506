"""``eval`` and ``render``: one expression or template against a request, session and memory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..language.context import Context
from ..language.engine import Engine
from ..sessions import SessionState
from .common import (
    Command,
    Subcommands,
    UsageError,
    add_command,
    add_request_options,
    add_state_options,
    json_pairs,
    print_json,
    request_from,
)


def _add_evaluation(
    commands: Subcommands,
    name: str,
    subject: str,
    help_text: str,
    handler: Command,
) -> None:
    parser = add_command(commands, name, help_text, handler)
    parser.add_argument(
        subject.lower(),
        metavar=subject,
        help="the text, or - to read it from standard input (one final line break dropped)",
    )
    add_request_options(parser)
    add_state_options(parser)
    parser.add_argument(
        "--state",
        action="store_true",
        help='print {"value": ..., "session": {...}, "memory": {...}} to show what set() did',
    )


def register(commands: Subcommands) -> None:
    """``eval EXPR`` and ``render TEMPLATE``."""
    _add_evaluation(
        commands, "eval", "EXPR", "Evaluate one expression and print it as JSON.", _cmd_eval
    )
    _add_evaluation(
        commands,
        "render",
        "TEMPLATE",
        "Render a {{ }} / << >> template; prints the text, or JSON for a single block's value.",
        _cmd_render,
    )


def _evaluation_context(args: argparse.Namespace) -> Context:
    return Context(
        request_from(args),
        session=SessionState(json_pairs("--session", args.session)),
        memory=json_pairs("--memory", args.memory),
    )


def _report(value: Any, context: Context, as_text: bool, state: bool) -> int:
    if state:
        print_json({"value": value, "session": context.session.data, "memory": context.memory})
    elif as_text:
        print(value)
    else:
        print_json(value)
    return 0


def _source(text: str) -> str:
    """The command line's text; ``-`` reads standard input, without its final line break."""
    if text != "-":
        return text
    try:
        read = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 text (byte {exc.start})") from None
    return read.removesuffix("\n").removesuffix("\r")


def _cmd_eval(args: argparse.Namespace) -> int:
    context = _evaluation_context(args)
    value = Engine().evaluate(_source(args.expr), context)
    return _report(value, context, as_text=False, state=args.state)


def _cmd_render(args: argparse.Namespace) -> int:
    context = _evaluation_context(args)
    template = Engine().compile_template(_source(args.template))
    value = template.render(context)
    return _report(value, context, as_text=not template.native, state=args.state)
