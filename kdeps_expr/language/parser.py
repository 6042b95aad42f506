"""Source text to syntax nodes; the only module that imports lark.

The grammar (``grammar/expr.lark``) is loaded once, LALR, from lark's cache. Lark analyses
it and builds the tables; :func:`_drive` runs them, skipping the unit reductions of the
precedence chain, and the builder methods make nodes as rules reduce, so no lark tree is
ever materialised and deep nesting costs no recursion. Tokens come from :class:`_Lexer`,
one regular expression assembled from the grammar's own terminals. Together these halve
parse time against ``Lark.parse``. Syntax errors are made here and only here, with token
names a person reads (``')'``, ``end of expression``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.common import LexerConf
from lark.lexer import Lexer, LexerState, PatternStr
from lark.parsers.lalr_analysis import Shift

from ..errors import ExprSyntaxError
from . import nodes as n
from .builder import Builder

_PACKAGE = Path(__file__).resolve().parent.parent
_GRAMMAR_PATHS = (_PACKAGE / "grammar" / "expr.lark", _PACKAGE.parent / "grammar" / "expr.lark")

# Terminal names as a person reads them, for error messages.
_HUMAN = {
    "$END": "end of expression",
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "TRUE": "true",
    "FALSE": "false",
    "NIL": "nil",
    "NULL": "null",
    "QMARK": "'?'",
    "ELVIS": "'?:'",
    "COALESCE": "'??'",
    "OPT_DOT": "'?.'",
    "COLON": "':'",
    "DOUBLE_COLON": "'::'",
    "_SEMICOLON": "';'",
    "ASSIGN": "'='",
    "PIPE": "'|'",
    "DOTDOT": "'..'",
    "LET": "let",
    "IF": "if",
    "ELSE": "else",
    "COMMA": "','",
    "OR_SYM": "'||'",
    "OR_WORD": "'or'",
    "AND_SYM": "'&&'",
    "AND_WORD": "'and'",
    "NOT": "'not'",
    "BANG": "'!'",
    "EQ": "'=='",
    "NE": "'!='",
    "LT": "'<'",
    "LE": "'<='",
    "GT": "'>'",
    "GE": "'>='",
    "IN": "'in'",
    "CONTAINS": "'contains'",
    "STARTS_WITH": "'startsWith'",
    "ENDS_WITH": "'endsWith'",
    "MATCHES": "'matches'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "PERCENT": "'%'",
    "POW": "'**'",
    "CARET": "'^'",
    "DOT": "'.'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "HASH": "'#'",
}
QUOTES = "'\"`"
"""The characters that open a string literal."""
_VALUE_TOKENS = {"NAME": "name", "INT": "number", "FLOAT": "number", "STRING": "string"}
_CLOSERS = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}
_PAIRS = {"(": ")", "[": "]", "{": "}"}


class _Lexer(Lexer):
    """All of the grammar's terminals in one regular expression, matched left to right.

    Alternatives are ordered so that the first match is the right one: ignored text
    (so ``//`` is a comment, not two slashes), then pattern terminals by priority (``.5`` is
    a FLOAT before ``.`` is a DOT), then literal operators longest first (``**`` before
    ``*``), then names; a name spelled like a keyword (``in``, ``true``) is that keyword.
    """

    __future_interface__ = 2  # lex() receives the LexerState, whose text may be a slice

    def __init__(self, conf: LexerConf) -> None:
        terminals = list(conf.terminals)
        self._ignore = frozenset(conf.ignore)
        words = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
        self._keywords = {
            t.pattern.value: t.name
            for t in terminals
            if isinstance(t.pattern, PatternStr) and words.match(t.pattern.value)
        }
        literals = sorted(
            (t for t in terminals if isinstance(t.pattern, PatternStr)),
            key=lambda t: -len(t.pattern.value),
        )
        patterns = sorted(
            (t for t in terminals if not isinstance(t.pattern, PatternStr)),
            key=lambda t: (t.name not in self._ignore, -t.priority),
        )
        ordered = [t for t in patterns if t.priority > 0 or t.name in self._ignore]
        ordered += [t for t in literals if t.pattern.value not in self._keywords]
        ordered += [t for t in patterns if t not in ordered]
        alternatives = [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in ordered]
        self._master = re.compile("|".join([*alternatives, "(?P<_UNKNOWN>.)"]), re.DOTALL)

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        text = lexer_state.text
        return self.tokens(text.text, text.start, text.end)

    def tokens(self, text: str, start: int, end: int) -> Iterator[Token]:
        """The tokens of ``text[start:end]``, positions counted in ``text``."""
        ignore, keywords = self._ignore, self._keywords
        for match in self._master.finditer(text, start, end):
            kind = match.lastgroup or ""
            if kind in ignore:
                continue
            offset = match.start()
            if kind == "_UNKNOWN":
                char = match.group()
                if char in QUOTES:
                    raise ExprSyntaxError("unclosed string", offset=offset)
                raise ExprSyntaxError(f"unexpected character {char!r}", offset=offset)
            value = match.group()
            if kind == "NAME":
                kind = keywords.get(value, "NAME")
                if value == "b" and text[match.end() : match.end() + 1] in ("'", '"'):
                    raise ExprSyntaxError(
                        "bytes literals (b'…') are not supported: values are JSON, "
                        "which has text but no bytes",
                        offset=offset,
                    )
            yield Token(kind, value, offset, end_pos=match.end())


def _load_grammar() -> Lark:
    path = next((p for p in _GRAMMAR_PATHS if p.is_file()), None)
    if path is None:
        raise RuntimeError(f"grammar not found; looked in {', '.join(map(str, _GRAMMAR_PATHS))}")
    return Lark(
        path.read_text(encoding="utf-8"),
        parser="lalr",
        lexer=_Lexer,
        transformer=Builder(),
        cache=True,
        maybe_placeholders=False,
    )


_LARK = _load_grammar()


Reduction = tuple[int, str, Callable[[list[Any]], Any] | None]
Action = int | Reduction


class _Tables:
    """Lark's LALR tables for the grammar, reshaped for :func:`_drive`.

    Lark analyses the grammar and builds the tables; driving them here instead of through
    ``Lark.parse`` skips the unit reductions of the precedence chain (``?sum: product``
    passes its child through untouched), which are most of the work for short expressions.
    A shift is a state number; a reduction is ``(size, rule name, callback or None)``.
    """

    def __init__(self, lark: Lark) -> None:
        frontend = lark.parser
        parser = frontend.parser.parser  # lark's LALR _Parser: parse_table and callbacks
        table = parser.parse_table
        callbacks = parser.callbacks
        reductions: dict[int, Reduction] = {}
        self.actions: dict[int, dict[str, Action]] = {}
        for state, row in table.states.items():
            actions: dict[str, Action] = {}
            for symbol, (action, target) in row.items():
                if action is Shift:
                    actions[symbol] = target
                    continue
                key = id(target)
                if key not in reductions:
                    unit = (
                        target.options.expand1
                        and len(target.expansion) == 1
                        and target.alias is None
                        and not target.origin.name.startswith("_")
                    )
                    callback = None if unit else callbacks[target]
                    reductions[key] = (len(target.expansion), target.origin.name, callback)
                actions[symbol] = reductions[key]
            self.actions[state] = actions
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        self.lexer: _Lexer = frontend.lexer


_TABLES = _Tables(_LARK)


_UNIT_CHAINS: dict[tuple[int, int, str], int] = {}
"""``(state on top, state below it, lookahead)`` -> the state the chain of unit reductions
that starts there ends in (``?sum: product`` and the like pass their child through, so a
chain depends on nothing else). Filled as parses meet them; finite, as the tables are."""


def _unit_chain(below: int, rule: str, kind: str) -> int:
    """The state after reducing the unit ``rule`` over ``below`` and every unit reduction
    that follows it for the lookahead ``kind``."""
    actions = _TABLES.actions
    goto = actions[below][rule]
    while True:
        assert type(goto) is int  # after a reduction the table always shifts the rule
        action = actions[goto].get(kind)
        if type(action) is not tuple or action[2] is not None or goto == _TABLES.end:
            return goto
        goto = actions[below][action[1]]


def _drive(text: str, start: int, end: int) -> n.Node:
    """Run the LALR tables over the tokens of ``text[start:end]``."""
    actions, accept, chains = _TABLES.actions, _TABLES.end, _UNIT_CHAINS
    states = [_TABLES.start]
    values: list[Any] = []
    last = Token("$END", "", end, end_pos=end)
    for token in chain(_TABLES.lexer.tokens(text, start, end), (last,)):
        kind = token.type
        while True:
            row = actions[states[-1]]
            action = row.get(kind)
            if action is None:
                raise _unexpected(token, row, text, start, end)
            if type(action) is int:
                states.append(action)
                values.append(token)
                break
            size, rule, callback = action  # type: ignore[misc]
            if callback is None:  # unit reductions: the whole chain in one step
                key = (states[-1], states[-2], kind)
                state = chains.get(key, -1)
                if state < 0:
                    state = chains[key] = _unit_chain(states[-2], rule, kind)
                states[-1] = state
                if state == accept and kind == "$END":
                    node = values[-1]
                    assert isinstance(node, n.Node)
                    return node
                continue
            children = values[-size:] if size else []
            del values[len(values) - size :]
            del states[len(states) - size :]
            values.append(callback(children))
            goto = actions[states[-1]][rule]
            assert type(goto) is int  # after a reduction the table always shifts the rule
            states.append(goto)
            state = goto
            if state == accept and kind == "$END":
                node = values[-1]
                assert isinstance(node, n.Node)
                return node
    raise AssertionError("the tables accept or reject at the end of input")


def _unclosed_bracket(text: str, start: int, end: int) -> int | None:
    """Offset of the innermost bracket still open at ``end`` (strings skipped)."""
    stack: list[int] = []
    i = start
    while i < end:
        char = text[i]
        if char in QUOTES:
            i = string_end(text, i, end)
            continue
        if char in _PAIRS:
            stack.append(i)
        elif char in ")]}" and stack and _PAIRS[text[stack[-1]]] == char:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def string_end(text: str, start: int, end: int) -> int:
    """Offset just past the string literal opening at ``start`` (or ``end``); a raw
    `…` string has no escapes."""
    quote_char = text[start]
    i = start + 1
    while i < end:
        if text[i] == "\\" and quote_char != "`":
            i += 2
        elif text[i] == quote_char:
            return i + 1
        else:
            i += 1
    return end


def _expected(names: set[str]) -> str:
    readable = sorted({_HUMAN.get(name, name) for name in names})
    if not readable or len(readable) > 4:
        return ""
    return ", expected " + " or ".join(readable)


def _unexpected(
    token: Token, row: dict[str, Action], text: str, start: int, end: int
) -> ExprSyntaxError:
    """The error for ``token`` arriving where the parser expected the keys of ``row``."""
    expected = {symbol for symbol in row if symbol.isupper()}
    if token.type == "_SEMICOLON":
        return ExprSyntaxError(
            "unexpected ';': a sequence a; b is written alone, in parentheses (a; b) or, "
            "as a predicate, in braces {a; b}",
            offset=token.start_pos,
        )
    if token.type == "COLON" and "RBRACE" in expected:
        return ExprSyntaxError(
            "unexpected ':': a computed map key is written in parentheses, {(key): value}",
            offset=token.start_pos,
        )
    if token.type != "$END":
        found = _HUMAN.get(token.type, token.type)
        if token.type in _VALUE_TOKENS:
            found = f"{_VALUE_TOKENS[token.type]} {token.value}"
        return ExprSyntaxError(f"unexpected {found}{_expected(expected)}", offset=token.start_pos)
    if expected & _CLOSERS.keys():
        opener = _unclosed_bracket(text, start, end)
        if opener is not None:
            return ExprSyntaxError(f"unclosed {text[opener]!r}", offset=opener)
    source = text[start:end]
    last = start + len(source.rstrip())
    if not source.strip():
        return ExprSyntaxError("empty expression", offset=last)
    return ExprSyntaxError(f"unexpected end of expression{_expected(expected)}", offset=last)


def parse(text: str, start: int = 0, end: int | None = None) -> n.Node:
    """Parse ``text[start:end]``; node positions and error offsets index ``text`` itself.

    Raises :class:`ExprSyntaxError` with ``offset`` set (no source attached: the caller
    knows which text the offsets refer to).
    """
    return _drive(text, start, len(text) if end is None else end)
