"""Source text to syntax nodes; the only module that imports lark.

The grammar (``grammar/expr.lark``) is loaded once, LALR, from lark's cache. Lark analyses
it and builds the tables; :func:`_drive` runs them, taking each chain of unit reductions of
the precedence chain in one step, and calls the builder methods as rules reduce, so no lark
tree or token is ever made and deep nesting costs no recursion. Tokens come from
:class:`_Lexer`, one regular expression assembled from the grammar's own terminals.
``benchmarks/bench_expr.py`` times parse + compile. Syntax errors are made here and only
here, with token names a person reads (``')'``, ``end of expression``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from lark import Lark
from lark.grammar import Rule, Symbol, Terminal
from lark.lexer import PatternStr, TerminalDef
from lark.parsers.lalr_analysis import Shift

from ..errors import ExprSyntaxError
from . import nodes as n
from .builder import Builder, Token

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


class _Lexer:
    """All of the grammar's terminals in one regular expression, one match per token.

    Each match first skips the ignored text (blanks and comments, so ``//`` is a comment,
    not two slashes), then takes the first alternative that matches: pattern terminals by
    priority (``.5`` is a FLOAT before ``.`` is a DOT), then the literal operators, longest
    first (``**`` before ``*``) and all in one group (a dozen alternatives per token cost
    the regular expression engine more than the rest of the parse), then names; a name
    spelled like a keyword (``in``, ``true``) is that keyword. Tokens are plain named
    tuples, not lark's.
    """

    def __init__(self, terminals: Collection[TerminalDef], ignore: Collection[str]) -> None:
        words = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
        literals = {t.pattern.value: t.name for t in terminals if isinstance(t.pattern, PatternStr)}
        self._keywords = {value: name for value, name in literals.items() if words.match(value)}
        self._operators = {v: name for v, name in literals.items() if v not in self._keywords}
        longest = sorted(self._operators, key=len, reverse=True)
        singles = "".join(re.escape(value) for value in longest if len(value) == 1)
        operators = [re.escape(value) for value in longest if len(value) > 1] + [f"[{singles}]"]
        patterns = sorted(
            (t for t in terminals if not isinstance(t.pattern, PatternStr)),
            key=lambda t: -t.priority,
        )
        skip = "|".join(f"(?:{t.pattern.to_regexp()})" for t in patterns if t.name in ignore)
        named = {t.name: f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in patterns}
        alternatives = [named[t.name] for t in patterns if t.priority > 0]
        alternatives.append(f"(?P<_OPERATOR>{'|'.join(operators)})")
        alternatives += [
            named[t.name] for t in patterns if t.priority <= 0 and t.name not in ignore
        ]
        alternatives += ["(?P<_UNKNOWN>.)", r"(?P<_END>\Z)"]
        master = re.compile(f"(?:{skip})*+(?:{'|'.join(alternatives)})", re.DOTALL)
        self._match = master.match
        kinds = {index: name for name, index in master.groupindex.items()}
        self._kinds = [kinds.get(index, "") for index in range(master.groups + 1)]

    def tokens(self, text: str, start: int, end: int) -> Iterator[Token]:
        """The tokens of ``text[start:end]``, positions counted in ``text``, then ``$END``."""
        match, kinds, keywords = self._match, self._kinds, self._keywords
        operators = self._operators
        new = tuple.__new__
        position = start
        while True:
            found = match(text, position, end)
            assert found is not None  # the last two alternatives match anything
            group = found.lastindex or 0
            kind = kinds[group]
            offset, position = found.span(group)  # the token ends the match
            value = text[offset:position]
            if kind == "_OPERATOR":
                kind = operators[value]
            elif kind == "NAME":
                kind = keywords.get(value, kind)
                if value == "b" and text[position : position + 1] in ("'", '"'):
                    raise ExprSyntaxError(
                        "bytes literals (b'…') are not supported: values are JSON, "
                        "which has text but no bytes",
                        offset=offset,
                    )
            elif kind == "_END":
                yield new(Token, ("$END", "", end, end))
                return
            elif kind == "_UNKNOWN":
                if value in QUOTES:
                    raise ExprSyntaxError("unclosed string", offset=offset)
                raise ExprSyntaxError(f"unexpected character {value!r}", offset=offset)
            yield new(Token, (kind, value, offset, position))


def _load_grammar() -> Lark:
    path = next((p for p in _GRAMMAR_PATHS if p.is_file()), None)
    if path is None:
        raise RuntimeError(f"grammar not found; looked in {', '.join(map(str, _GRAMMAR_PATHS))}")
    return Lark(
        path.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        cache=True,
        maybe_placeholders=False,
    )


Reduce = Callable[[list[Any]], Any]
"""A rule's reduction: the values of its symbols -> the value of the rule."""
Reduction = tuple[int, str, Reduce]
"""A reduction in the tables: ``(symbols taken off the stack, rule name, callback)``."""


class _UnitChain(dict[int, int]):
    """A unit reduction (``?sum: product`` passes its child through) in one state, for one
    lookahead: the state below -> the state that the chain of unit reductions starting
    there ends in. The chain depends on nothing else, so each is followed once, when a
    parse first meets it; the tables are finite, and so is this."""

    __slots__ = ("kind", "rule", "tables")

    def __init__(self, tables: _Tables, rule: str, kind: str) -> None:
        super().__init__()
        self.tables, self.rule, self.kind = tables, rule, kind

    def __missing__(self, below: int) -> int:
        actions, gotos = self.tables.actions, self.tables.gotos
        state = gotos[below][self.rule]
        while True:
            action = actions[state].get(self.kind)
            if type(action) is not _UnitChain or state == self.tables.accept:
                break
            state = gotos[below][action.rule]
        self[below] = state
        return state


Action = int | Reduction | _UnitChain
"""A shift (the next state), a reduction, or a chain of unit reductions."""


def _inlined(symbol: Symbol) -> bool:
    """True for a rule lark splices into its parent: ``_name``, and its own helpers."""
    return not symbol.is_term and symbol.name.startswith("_")


def _kept(symbol: Symbol) -> bool:
    """False for the tokens lark leaves out of a tree: ``_NAME`` and anonymous ones."""
    return not (isinstance(symbol, Terminal) and symbol.filter_out)


def _single_inlined(rules: list[Rule]) -> set[str]:
    """The inlined rules that always give exactly one child (``_order: LT | LE …``): their
    value is that child, so they reduce like ``?sum: product``, as unit reductions."""
    single = {rule.origin.name for rule in rules if _inlined(rule.origin)}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            kept = [symbol for symbol in rule.expansion if _kept(symbol)]
            one = len(kept) == 1 and (not _inlined(kept[0]) or kept[0].name in single)
            if rule.origin.name in single and not one:
                single.discard(rule.origin.name)
                changed = True
    return single


def _reduce(rule: Rule, single: set[str], builder: Builder) -> Reduce | None:
    """What reducing ``rule`` does, as lark's tree builder would do it (filtered tokens
    dropped, ``_rules`` spliced into their parent, a ``?rule`` of one child passing it
    through) but calling the :class:`Builder` directly, never making a lark tree; ``None``
    for a unit reduction, which passes its one symbol through untouched."""
    size, origin = len(rule.expansion), rule.origin.name
    steps = [
        (index, _inlined(symbol) and symbol.name not in single)
        for index, symbol in enumerate(rule.expansion)
        if _kept(symbol)
    ]
    passes = origin in single or (rule.options.expand1 and rule.alias is None)
    if passes and len(steps) == 1 and not steps[0][1]:
        return None if size == 1 else operator.itemgetter(steps[0][0])
    if not size or rule.options.keep_all_tokens or (passes and not _inlined(rule.origin)):
        raise RuntimeError(f"the parser cannot reduce the grammar rule {rule}")
    build: Reduce = list if _inlined(rule.origin) else getattr(builder, rule.alias or origin)
    if steps == [(index, False) for index in range(size)]:
        return build

    def reduce(children: list[Any]) -> Any:
        kept: list[Any] = []
        for index, spliced in steps:
            if not spliced:
                kept.append(children[index])
            elif kept:
                kept += children[index]
            else:  # a left-recursive list: grow the one already built
                kept = children[index]
        return build(kept)

    return reduce


class _Tables:
    """Lark's LALR tables for the grammar, reshaped for :func:`_drive`.

    Lark analyses the grammar and builds the tables; driving them here instead of through
    ``Lark.parse`` takes each chain of unit reductions of the precedence chain in one step
    (most of the work for short expressions) and builds no lark tree. ``actions`` holds
    what each state does on each terminal, ``gotos`` the state each state goes to once a
    rule has reduced.
    """

    def __init__(self, lark: Lark) -> None:
        table = lark.parser.parser.parser.parse_table  # lark's LALR _Parser
        single = _single_inlined(lark.rules)
        builder = Builder()
        reductions: dict[int, Reduce | None] = {}
        self.actions: dict[int, dict[str, Action]] = {}
        self.gotos: dict[int, dict[str, int]] = {}
        for state, row in table.states.items():
            actions: dict[str, Action] = {}
            gotos: dict[str, int] = {}
            for symbol, (action, target) in row.items():
                if action is Shift:
                    (actions if symbol.isupper() else gotos)[symbol] = target
                    continue
                if id(target) not in reductions:
                    reductions[id(target)] = _reduce(target, single, builder)
                callback, rule = reductions[id(target)], target.origin.name
                actions[symbol] = (
                    _UnitChain(self, rule, symbol)
                    if callback is None
                    else (len(target.expansion), rule, callback)
                )
            self.actions[state] = actions
            self.gotos[state] = gotos
        self.start = table.start_states["start"]
        self.accept = table.end_states["start"]
        self.lexer = _Lexer(lark.lexer_conf.terminals, lark.lexer_conf.ignore)


_TABLES = _Tables(_load_grammar())


def _drive(text: str, start: int, end: int) -> n.Node:
    """Run the LALR tables over the tokens of ``text[start:end]``."""
    actions, gotos, accept = _TABLES.actions, _TABLES.gotos, _TABLES.accept
    state = _TABLES.start
    states = [state]
    values: list[Any] = []
    for token in _TABLES.lexer.tokens(text, start, end):
        kind = token[0]
        while True:
            action = actions[state].get(kind)
            if isinstance(action, int):
                state = action
                states.append(state)
                values.append(token)
                break
            if isinstance(action, _UnitChain):  # unit reductions: the whole chain in one step
                state = states[-1] = action[states[-2]]
            elif action is None:
                raise _unexpected(token, actions[state], text, start, end)
            else:
                size, rule, callback = action
                children = values[-size:]
                del values[-size:]
                del states[-size:]
                values.append(callback(children))
                state = gotos[states[-1]][rule]
                states.append(state)
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
