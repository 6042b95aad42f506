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

from lark import Lark, Token, Transformer
from lark.common import LexerConf
from lark.lexer import Lexer, LexerState, PatternStr
from lark.parsers.lalr_analysis import Shift

from ..errors import ExprSyntaxError
from . import nodes as n

_PACKAGE = Path(__file__).resolve().parent.parent
_GRAMMAR_PATHS = (_PACKAGE / "grammar" / "expr.lark", _PACKAGE.parent / "grammar" / "expr.lark")

_OPERATORS = {"OR_WORD": "||", "AND_WORD": "&&", "NOT": "!", "CARET": "**"}

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
_VALUE_TOKENS = {"NAME": "name", "INT": "number", "FLOAT": "number", "STRING": "string"}
_CLOSERS = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
}


def _span(item: n.Node | Token) -> tuple[int, int]:
    if isinstance(item, Token):
        return item.start_pos or 0, item.end_pos or 0
    return item.start, item.end


def _low_surrogate(digits: str) -> bool:
    """True when ``digits`` are the 4 hex digits of a low UTF-16 surrogate (DC00–DFFF)."""
    if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        return False
    return 0xDC00 <= int(digits, 16) <= 0xDFFF


def _decode_string(token: Token) -> str:
    """The value of a string literal token, escapes resolved."""
    raw: str = token.value[1:-1]
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = raw[i + 1]
        offset = (token.start_pos or 0) + 1 + i
        if code == "u":
            digits = raw[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ExprSyntaxError(r"invalid \u escape: expected 4 hex digits", offset=offset)
            code_point = int(digits, 16)
            i += 6
            low = raw[i + 2 : i + 6] if raw[i : i + 2] == "\\u" else ""
            if 0xD800 <= code_point <= 0xDBFF and _low_surrogate(low):
                # A UTF-16 surrogate pair, as JSON writes characters beyond U+FFFF.
                code_point = 0x10000 + ((code_point - 0xD800) << 10) + int(low, 16) - 0xDC00
                i += 6
            if 0xD800 <= code_point <= 0xDFFF:
                raise ExprSyntaxError(
                    r"invalid \u escape: a lone UTF-16 surrogate is not a character", offset=offset
                )
            out.append(chr(code_point))
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        else:
            shown = code if code.isprintable() else f" followed by {code!r}"
            raise ExprSyntaxError(f"unknown escape \\{shown} in string", offset=offset)
    return "".join(out)


_INT_LIMIT = 1 << 63  # integers are 64-bit (values.INT_BITS)


def _number(token: Token) -> int | float:
    """The value of a number literal; one that is not a finite 64-bit value is an error."""
    text = token.value.replace("_", "")
    if token.type == "FLOAT":
        value = float(text)
        if value == float("inf"):
            raise ExprSyntaxError(f"number out of range: {token.value}", offset=token.start_pos)
        return value
    number = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
    if number >= _INT_LIMIT:
        raise ExprSyntaxError(
            f"integer out of range: {token.value} does not fit in 64 bits",
            offset=token.start_pos,
        )
    return number


class _Builder(Transformer[Token, n.Node]):
    """Builds nodes as the LALR parser reduces; one method per ``-> alias`` of the grammar."""

    def literal(self, children: list[Token]) -> n.Node:
        token = children[0]
        start, end = _span(token)
        kind = token.type
        value: Any
        if kind in ("INT", "FLOAT"):
            value = _number(token)
        elif kind == "STRING":
            value = _decode_string(token)
        else:
            value = {"TRUE": True, "FALSE": False}.get(kind)
        return n.Literal(value=value, start=start, end=end, pos=start)

    def name(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])
        return n.Name(name=children[0].value, start=start, end=end, pos=start)

    def call(self, children: list[Any]) -> n.Node:
        name, *args, close = children
        args = args[1:]  # drop "("
        start = _span(name)[0]
        return n.Call(
            name=name.value, args=tuple(args), start=start, end=_span(close)[1], pos=start
        )

    def group(self, children: list[Any]) -> n.Node:
        node: n.Node = children[1]
        return node

    def list_literal(self, children: list[Any]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[-1])[1]
        return n.ListLiteral(items=tuple(children[1:-1]), start=start, end=end, pos=start)

    def pair(self, children: list[Any]) -> tuple[str, n.Node]:
        key: Token = children[0]
        text = _decode_string(key) if key.type == "STRING" else key.value
        return text, children[2]

    def map_literal(self, children: list[Any]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[-1])[1]
        pairs = dict(children[1:-1])  # a repeated key keeps its last value
        return n.MapLiteral(
            keys=tuple(pairs), values=tuple(pairs.values()), start=start, end=end, pos=start
        )

    def element(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])
        return n.Element(start=start, end=end, pos=start)

    def element_member(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[1])[1]
        return n.ElementMember(name=children[1].value, start=start, end=end, pos=start)

    def member(self, children: list[Any]) -> n.Node:
        target, dot, name = children
        return n.Member(
            target=target,
            name=name.value,
            optional=dot.type == "OPT_DOT",
            start=target.start,
            end=_span(name)[1],
            pos=_span(name)[0],
        )

    def method_call(self, children: list[Any]) -> n.Node:
        target, _dot, name, _open, *args, close = children
        return n.MethodCall(
            target=target,
            name=name.value,
            args=tuple(args),
            start=target.start,
            end=_span(close)[1],
            pos=_span(name)[0],
        )

    def index(self, children: list[Any]) -> n.Node:
        target, bracket, index, close = children
        return n.Index(
            target=target,
            index=index,
            start=target.start,
            end=_span(close)[1],
            pos=_span(bracket)[0],
        )

    def slice(self, children: list[Any]) -> n.Node:
        target, bracket, *inner, close = children
        colon = next(i for i, item in enumerate(inner) if isinstance(item, Token))
        lower = inner[0] if colon == 1 else None
        upper = inner[colon + 1] if colon + 1 < len(inner) else None
        return n.Slice(
            target=target,
            lower=lower,
            upper=upper,
            start=target.start,
            end=_span(close)[1],
            pos=_span(bracket)[0],
        )

    def unary(self, children: list[Any]) -> n.Node:
        op, operand = children
        start = _span(op)[0]
        symbol = _OPERATORS.get(op.type, op.value)
        return n.Unary(op=symbol, operand=operand, start=start, end=operand.end, pos=start)

    def binary(self, children: list[Any]) -> n.Node:
        left, op, right = children
        symbol = _OPERATORS.get(op.type, op.value)
        return n.Binary(
            op=symbol, left=left, right=right, start=left.start, end=right.end, pos=_span(op)[0]
        )

    logical = binary

    def negated(self, children: list[Any]) -> n.Node:
        left, negation, op, right = children
        return n.Binary(
            op=f"not {op.value}",
            left=left,
            right=right,
            start=left.start,
            end=right.end,
            pos=_span(negation)[0],
        )

    def conditional(self, children: list[Any]) -> n.Node:
        test, mark, then, _colon, otherwise = children
        return n.Conditional(
            test=test,
            then=then,
            otherwise=otherwise,
            start=test.start,
            end=otherwise.end,
            pos=_span(mark)[0],
        )

    def elvis(self, children: list[Any]) -> n.Node:
        test, mark, otherwise = children
        return n.Conditional(
            test=test, otherwise=otherwise, start=test.start, end=otherwise.end, pos=_span(mark)[0]
        )


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
                if char in "'\"":
                    raise ExprSyntaxError("unclosed string", offset=offset)
                raise ExprSyntaxError(f"unexpected character {char!r}", offset=offset)
            value = match.group()
            if kind == "NAME":
                kind = keywords.get(value, "NAME")
            yield Token(kind, value, offset, end_pos=match.end())


def _load_grammar() -> Lark:
    path = next((p for p in _GRAMMAR_PATHS if p.is_file()), None)
    if path is None:
        raise RuntimeError(f"grammar not found; looked in {', '.join(map(str, _GRAMMAR_PATHS))}")
    return Lark(
        path.read_text(encoding="utf-8"),
        parser="lalr",
        lexer=_Lexer,
        transformer=_Builder(),
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


def _drive(text: str, start: int, end: int) -> n.Node:
    """Run the LALR tables over the tokens of ``text[start:end]``."""
    actions, accept = _TABLES.actions, _TABLES.end
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
            if callback is None:
                states.pop()
            else:
                children = values[-size:] if size else []
                del values[len(values) - size :]
                del states[len(states) - size :]
                values.append(callback(children))
            state = actions[states[-1]][rule]
            assert type(state) is int  # after a reduction the table always shifts the rule
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
        if char in "'\"":
            i = _string_end(text, i, end)
            continue
        if char in _PAIRS:
            stack.append(i)
        elif char in ")]}" and stack and _PAIRS[text[stack[-1]]] == char:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def _string_end(text: str, start: int, end: int) -> int:
    """Offset just past the string literal opening at ``start`` (or ``end``)."""
    quote_char = text[start]
    i = start + 1
    while i < end:
        if text[i] == "\\":
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
