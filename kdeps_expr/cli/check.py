"""``check``: load a workflow and print every error and warning, at its file:line:col."""

from __future__ import annotations

import argparse

from ..workflow.loader import inspect_workflow
from .common import Subcommands, add_command, count


def register(commands: Subcommands) -> None:
    """``check WORKFLOW [--explain] [--strict]``."""
    help_text = (
        "Load a workflow and print every error and warning; exit 1 on an error "
        "(with --strict, on a warning too)."
    )
    parser = add_command(commands, "check", help_text, _cmd_check, workflow=True)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print how each value string was read: template, expression or text",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings as errors (exit 1 when there is one), for CI",
    )


def _cmd_check(args: argparse.Namespace) -> int:
    inspection = inspect_workflow(args.workflow)
    for problem in [*inspection.errors, *inspection.warnings]:
        print(problem.render())
    if args.explain:
        for value in inspection.values:
            print(f"{value.site.location()}: {value.kind}: {value.text!r}")
    name = inspection.workflow.name if inspection.workflow else args.workflow
    print(
        f"{name}: {count(len(inspection.resources), 'resource')}, "
        f"{count(len(inspection.errors), 'error')}, "
        f"{count(len(inspection.warnings), 'warning')}"
        + (" (--strict: warnings fail)" if args.strict and inspection.warnings else "")
    )
    return 1 if inspection.errors or (args.strict and inspection.warnings) else 0
