"""What the commands share: request options, ``KEY=VALUE`` and JSON option values, output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from ..language.context import Request, request_json

Command = Callable[[argparse.Namespace], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``register(commands)`` of each command module adds its parser to."""


def add_command(
    commands: Subcommands,
    name: str,
    help_text: str,
    handler: Command,
    *,
    workflow: bool = False,
    usage: str | None = None,
) -> argparse.ArgumentParser:
    """A command's parser: its help also as description, no abbreviated options, its
    handler; with ``workflow``, the WORKFLOW folder as its first argument."""
    parser = commands.add_parser(
        name, help=help_text, description=help_text, allow_abbrev=False, usage=usage
    )
    if workflow:
        parser.add_argument("workflow", metavar="WORKFLOW", help="the workflow folder")
    parser.set_defaults(handler=handler)
    return parser


class UsageError(Exception):
    """A malformed option value (``--query`` without ``=``, a ``--body`` that is not JSON)."""


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """``--query``, ``--header`` and ``--body``: the request an expression or workflow sees."""
    parser.add_argument(
        "--query", action="append", default=[], metavar="KEY=VALUE", help="a query parameter"
    )
    parser.add_argument(
        "--header", action="append", default=[], metavar="KEY=VALUE", help="a request header"
    )
    parser.add_argument("--body", metavar="JSON", help="the JSON request body")


def add_state_options(parser: argparse.ArgumentParser) -> None:
    """``--session`` and ``--memory``: the state an expression starts from."""
    parser.add_argument(
        "--session", action="append", default=[], metavar="KEY=JSON", help="a session value"
    )
    parser.add_argument(
        "--memory", action="append", default=[], metavar="KEY=JSON", help="a request memory value"
    )


def pairs(option: str, items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` option values as a map (a later key wins)."""
    pairs: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def json_value(option: str, text: str) -> Any:
    """A JSON option value, parsed; integers stay integers."""
    try:
        return request_json(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option} is not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON ({exc})") from None


def json_pairs(option: str, items: Sequence[str]) -> dict[str, Any]:
    """``KEY=JSON`` option values as a map of parsed values."""
    return {key: json_value(f"{option} {key}", text) for key, text in pairs(option, items).items()}


def request_from(args: argparse.Namespace) -> Request:
    """The request described by ``--query``, ``--header`` and ``--body``."""
    body = None if args.body is None else json_value("--body", args.body)
    return Request(
        query=pairs("--query", args.query), headers=pairs("--header", args.header), body=body
    )


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
