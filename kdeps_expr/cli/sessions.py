"""``sessions``: list, show, delete and purge the sessions of a store."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime

from ..language.context import utc_timestamp
from ..sessions import SessionStore, open_store_url
from ..workflow.loader import load_workflow
from .common import Subcommands, UsageError, add_command, count


def register(commands: Subcommands) -> None:
    """``sessions [WORKFLOW] list|show ID|delete ID|purge``."""
    help_text = (
        "List, show, delete or purge the sessions in a workflow's session store, or in the "
        "store at --store URL."
    )
    parser = add_command(
        commands,
        "sessions",
        help_text,
        _cmd_sessions,
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
        help="a store instead of a workflow's: sqlite:///abs/path.db, sqlite:relative.db, "
        "redis://host:port/db[?keyPrefix=PREFIX] or "
        "postgresql://user@host:port/database[?schema=S&table=T]",
    )


_SESSION_ACTIONS = {"list": 0, "show": 1, "delete": 1, "purge": 0}


def _cmd_sessions(args: argparse.Namespace) -> int:
    words: list[str] = args.words
    workflow = None if words[0] in _SESSION_ACTIONS else words[0]
    action, *operands = words[0 if workflow is None else 1 :] or [""]
    if action not in _SESSION_ACTIONS:
        raise UsageError(
            f"sessions: expected list, show ID, delete ID or purge, got {action or 'nothing'!r}"
        )
    if len(operands) != _SESSION_ACTIONS[action]:
        takes = "one ID" if _SESSION_ACTIONS[action] else "no argument"
        raise UsageError(f"sessions {action} takes {takes}")
    if workflow is not None and args.store is not None:
        raise UsageError("sessions: give a WORKFLOW or --store URL, not both")
    if args.store is not None:
        store = open_store_url(args.store, must_exist=True)
    else:
        store = load_workflow(workflow or ".").open_store(must_exist=True)
    try:
        if action == "list":
            _print_sessions(store)
        elif action == "purge":
            print(f"purged {count(store.purge_expired(), 'expired session')}")
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
