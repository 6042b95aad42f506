"""``repl``: an interactive prompt for expressions, built on prompt_toolkit.

Each line is tried as :func:`~kdeps_expr.language.trial.attempt` tries it: the value is
printed as JSON, then what ``set()`` changed (``session: ~ visits: 41 -> 42``); the
session and memory carry from one line to the next, and a line that fails changes
neither. An unclosed bracket continues on the next line (the parser says so: its error
is ``unclosed '('``, or it ended early while a bracket is open; a string cannot span
lines, so an unclosed one is an error at once). Tab completes function names, and inside a
string the keys of the session, memory and request. History is kept in
``$XDG_STATE_HOME/kdeps-expr/history`` (default ``~/.local/state/kdeps-expr/history``).

Commands: ``:help``, ``:quit``, ``:session [JSON]``, ``:memory [JSON]``, ``:request [JSON]``
(show, or replace with a JSON object), ``:render TEMPLATE``, ``:reset`` (the state the
command line gave).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ExprError, ExprSyntaxError
from ..language.context import Request
from ..language.engine import Engine
from ..language.trial import attempt
from .common import (
    Subcommands,
    UsageError,
    add_command,
    add_request_options,
    add_state_options,
    json_pairs,
    json_value,
    request_from,
)

PROMPT = "kdeps> "
CONTINUATION = "...... "
KEYWORDS = ("nil", "null", "true", "false", "not", "in", "contains", "matches", "let")
HELP = """\
Type an expression; its value prints as JSON, then what set() changed.
An unclosed ( [ or { continues on the next line. Tab completes.
  :session [JSON]    show the session, or replace it with a JSON object
  :memory [JSON]     show request memory, or replace it
  :request [JSON]    show the request, or change it: {"method", "path", "query", "headers", "body"}
  :render TEMPLATE   render a {{ }} / << >> template
  :reset             the session, memory and request the command line gave
  :help              this text
  :quit              leave (Ctrl-D too)"""
_STRING_START = re.compile(r"""(['"])([^'"\\]*)\Z""")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]*\Z")


@dataclass
class State:
    """What the lines share: the request, session and memory, and where they started."""

    request: Request
    session: dict[str, Any]
    memory: dict[str, Any]
    start: tuple[Request, dict[str, Any], dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.start = (self.request, copy.deepcopy(self.session), copy.deepcopy(self.memory))

    def reset(self) -> None:
        request, session, memory = self.start
        self.request, self.session, self.memory = (
            request,
            copy.deepcopy(session),
            copy.deepcopy(memory),
        )

    def known_keys(self) -> list[str]:
        """Every key a ``get`` could name: session, memory, query, body, headers."""
        body = self.request.body if isinstance(self.request.body, dict) else {}
        sources: Iterable[Any] = (
            self.session,
            self.memory,
            self.request.query,
            body,
            self.request.headers,
        )
        return sorted({str(key) for source in sources for key in source})


def _request_json(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "headers": dict(request.headers),
        "body": request.body,
    }


class Repl:
    """The read-evaluate-print loop without the terminal: :meth:`line` takes one input and
    returns what to print (the prompt_toolkit session around it is in :func:`_cmd_repl`)."""

    def __init__(self, engine: Engine, state: State) -> None:
        self.engine = engine
        self.state = state
        self.done = False

    def complete_input(self, text: str) -> bool:
        """False while ``text`` has an unclosed bracket."""
        stripped = text.strip()
        if not stripped or stripped.startswith(":"):
            return True
        try:
            self.engine.compile(text)
        except ExprSyntaxError as exc:
            if exc.message.startswith("unclosed "):
                return exc.message == "unclosed string"
            at_end = (exc.offset or 0) >= len(text.rstrip())
            return not (at_end and _open_brackets(text) > 0)
        except ExprError:
            return True
        return True

    def line(self, text: str) -> str:
        """What one input prints."""
        stripped = text.strip()
        if not stripped:
            return ""
        if stripped.startswith(":"):
            name, _, rest = stripped.partition(" ")
            return self.command(name, rest.strip())
        return self.evaluate(text, template=False)

    def evaluate(self, source: str, *, template: bool) -> str:
        state = self.state
        outcome = attempt(
            self.engine,
            source,
            template=template,
            request=state.request,
            session=state.session,
            memory=state.memory,
        )
        if outcome.error is not None:
            return outcome.error.render()
        state.session, state.memory = outcome.session, outcome.memory
        shown = outcome.text if template else json.dumps(outcome.value, ensure_ascii=False)
        lines = [shown]
        lines += [f"session: {c.render()}" for c in outcome.session_changes]
        lines += [f"memory: {c.render()}" for c in outcome.memory_changes]
        return "\n".join(lines)

    def command(self, name: str, rest: str) -> str:
        state = self.state
        try:
            if name in (":quit", ":q", ":exit"):
                self.done = True
                return ""
            if name == ":help":
                return HELP
            if name == ":reset":
                state.reset()
                return "session, memory and request reset"
            if name == ":render":
                return self.evaluate(rest, template=True)
            if name in (":session", ":memory"):
                which = name[1:]
                if rest:
                    setattr(state, which, _object(which, rest))
                return _shown(getattr(state, which))
            if name == ":request":
                if rest:
                    state.request = _changed_request(state.request, _object("request", rest))
                return _shown(_request_json(state.request))
        except UsageError as exc:
            return f"{name}: {exc}"
        return f"unknown command {name} (:help lists them)"

    def completions(self, before: str) -> Iterator[tuple[str, int]]:
        """(completion, how many characters before the cursor it replaces)."""
        in_string = _STRING_START.search(before)
        if in_string and before.count(in_string[1]) % 2 == 1:
            typed = in_string[2]
            for key in self.state.known_keys():
                if key.startswith(typed):
                    yield key, len(typed)
            return
        if before.lstrip().startswith(":") and " " not in before.strip():
            typed = before.strip()
            for name in (":help", ":quit", ":session", ":memory", ":request", ":render", ":reset"):
                if name.startswith(typed):
                    yield name, len(typed)
            return
        word = _WORD.search(before)
        typed = word[0] if word else ""
        if not typed:
            return
        for name in sorted({*self.engine.functions, *KEYWORDS}):
            if name.startswith(typed):
                yield name, len(typed)


def _open_brackets(text: str) -> int:
    """How many ``( [ {`` of ``text`` are still open, outside string literals."""
    depth = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return depth


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _object(what: str, text: str) -> dict[str, Any]:
    value = json_value(f":{what}", text)
    if not isinstance(value, dict):
        raise UsageError("expected a JSON object {…}")
    return value


def _changed_request(request: Request, changes: dict[str, Any]) -> Request:
    unknown = sorted(set(changes) - {"method", "path", "query", "headers", "body"})
    if unknown:
        raise UsageError(
            f"unknown request field {unknown[0]!r} (method, path, query, headers, body)"
        )
    for name in ("query", "headers"):
        if name in changes and not isinstance(changes[name], dict):
            raise UsageError(f"{name} must be a JSON object")
    if "method" in changes:
        changes["method"] = str(changes["method"]).upper()
    return replace(request, **changes)


def history_path() -> Path:
    """``$XDG_STATE_HOME/kdeps-expr/history``, by default under ``~/.local/state``."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "kdeps-expr" / "history"


def register(commands: Subcommands) -> None:
    """``repl``."""
    help_text = (
        "An interactive prompt: evaluate expressions line by line against a request, a "
        "session and memory that carry from line to line; :help lists its commands."
    )
    parser = add_command(commands, "repl", help_text, _cmd_repl)
    add_request_options(parser)
    add_state_options(parser)
    parser.add_argument(
        "--history", metavar="FILE", help=f"the history file (default: {history_path()})"
    )


def _cmd_repl(args: argparse.Namespace) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    repl = Repl(
        Engine(),
        State(
            request_from(args),
            json_pairs("--session", args.session),
            json_pairs("--memory", args.memory),
        ),
    )

    class _Completions(Completer):
        def get_completions(self, document: Document, event: object) -> Iterator[Completion]:
            for text, back in repl.completions(document.text_before_cursor):
                yield Completion(text, start_position=-back)

    keys = KeyBindings()

    @keys.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if repl.complete_input(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    history = Path(args.history) if args.history else history_path()
    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)),
        completer=_Completions(),
        complete_while_typing=False,
        multiline=True,
        key_bindings=keys,
        prompt_continuation=lambda width, line, wrap: CONTINUATION,
    )
    print("kdeps-expr repl: :help for the commands, :quit or Ctrl-D to leave")
    while not repl.done:
        try:
            text = session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        shown = repl.line(text)
        if shown:
            print(shown)
    return 0
