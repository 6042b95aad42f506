"""``new``: write a runnable workflow in today's layout (C), from a template the package ships.

The templates live in ``scaffolds/<template>/`` beside this module (package data): every
file is copied with ``__NAME__`` replaced by the workflow's name. Each one passes
``check --strict`` and runs offline with ``run`` (tests/test_new.py holds them to that).
An existing path is never written to.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..errors import ExprError
from .common import Subcommands, add_command

TEMPLATES = {
    "api": "a JSON API: one route, the input checked, a greeting answered",
    "chat": "a question sent to a model (the offline echo backend until you pick one)",
    "session": "a visit counter kept in the session store (SQLite)",
}
PLACEHOLDER = "__NAME__"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def register(commands: Subcommands) -> None:
    """``new NAME [--template api|chat|session]``."""
    help_text = (
        "Write a new workflow folder NAME in today's flat layout (C), with a README: "
        "it passes check --strict and runs with run."
    )
    parser = add_command(commands, "new", help_text, _cmd_new)
    parser.add_argument("name", metavar="NAME", help="the folder to create; its name names it")
    parser.add_argument(
        "--template",
        choices=list(TEMPLATES),
        default="api",
        help="; ".join(f"{name}: {what}" for name, what in TEMPLATES.items()) + " (default: api)",
    )


def _files(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    """Every file under ``folder``, as (relative path, file), sorted."""
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found.extend(_files(entry, f"{prefix}{entry.name}/"))
        elif entry.is_file():
            found.append((prefix + entry.name, entry))
    return found


def scaffold(target: Path, template: str) -> list[Path]:
    """Write the workflow ``template`` into the new folder ``target``; the files written."""
    name = target.name
    if not _NAME.fullmatch(name):
        raise ExprError(
            f"{name!r} cannot name a workflow: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (at most 64 characters)"
        )
    if target.exists() or target.is_symlink():
        raise ExprError(f"{target} already exists: new never writes into an existing path")
    source = resources.files(__package__ or "kdeps_expr.cli").joinpath("scaffolds", template)
    files = _files(source)
    target.mkdir(parents=True)
    written: list[Path] = []
    for relative, entry in files:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry.read_text(encoding="utf-8").replace(PLACEHOLDER, name), "utf-8")
        written.append(path)
    return written


def _cmd_new(args: argparse.Namespace) -> int:
    target = Path(args.name)
    written = scaffold(target, args.template)
    print(f"created workflow {target.name} ({args.template}: {TEMPLATES[args.template]})")
    for path in written:
        print(f"  {path}")
    print(f"next: kdeps-expr check {target} --strict, then kdeps-expr run {target}")
    return 0
