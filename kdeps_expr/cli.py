"""The command line: ``kdeps-expr eval|render|check|run|sessions|serve``.

Each subcommand has an ``_add_<name>`` function that declares its options and a
``_cmd_<name>`` function that runs it and returns the exit status. Every error a user can
cause is printed as one rendered message on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .errors import ExprError

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


def _add_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def _add_render(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def _add_sessions(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 error, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
