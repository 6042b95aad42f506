"""The nodes each grammar rule builds (one method per ``-> alias`` of ``grammar/expr.lark``),
and the values of literal tokens.

The parser (parser.py) calls these methods as its LALR tables reduce, with the rule's
children: nodes already built, and tokens. Errors found while building (a number out of
range, a bad escape, a repeated map key, a pipe into something that is not a call) are
syntax errors with the offset of the bad character.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..errors import ExprSyntaxError
from . import nodes as n


class Token(NamedTuple):
    """A token of the source text: its terminal's name, its text and where it lies."""

    type: str
    value: str
    start_pos: int
    end_pos: int


_OPERATORS = {"OR_WORD": "||", "AND_WORD": "&&", "NOT": "!", "CARET": "**"}
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
_WORDS = {"TRUE": True, "FALSE": False}
"""The values of the literal words other than ``nil`` and ``null``."""
_HEX = frozenset("0123456789abcdefABCDEF")
_BASES = {"x": 16, "o": 8, "b": 2}
_INT_LIMIT = 1 << 63  # integers are 64-bit (values.INT_BITS)


def _span(item: Any) -> tuple[int, int]:
    if isinstance(item, n.Node):
        return item.start, item.end
    return item.start_pos, item.end_pos


def _shown(text: str, width: int = 24) -> str:
    """``text`` for a message, cut short when long (a literal may have thousands of digits)."""
    return text if len(text) <= width else text[:width] + "…"


def _low_surrogate(digits: str) -> bool:
    """True when ``digits`` are the 4 hex digits of a low UTF-16 surrogate (DC00–DFFF)."""
    if len(digits) != 4 or not _HEX.issuperset(digits):
        return False
    return 0xDC00 <= int(digits, 16) <= 0xDFFF


def string_value(token: Token) -> str:
    """The value of a string literal token: escapes resolved, none in a raw `…` string."""
    raw: str = token.value[1:-1]
    if "\\" not in raw or token.value[0] == "`":
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
        offset = token.start_pos + 1 + i
        if code == "u":
            digits = raw[i + 2 : i + 6]
            if len(digits) != 4 or not _HEX.issuperset(digits):
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


def number_value(token: Token) -> int | float:
    """The value of a number literal (``42``, ``0x2A``, ``0o52``, ``0b101010``, ``1_000``,
    ``.5``, ``2.``, ``1e3``); one that is not a finite 64-bit value is an error, however
    many digits it has."""
    text = token.value.replace("_", "")
    if token.type == "FLOAT":
        value = float(text)
        if value == float("inf"):
            raise ExprSyntaxError(
                f"number out of range: {_shown(token.value)}", offset=token.start_pos
            )
        return value
    base = _BASES.get(text[1:2].lower(), 10) if text[:1] == "0" else 10
    digits = (text[2:] if base != 10 else text).lstrip("0")
    number = int(digits, base) if digits and len(digits) <= 64 else (_INT_LIMIT if digits else 0)
    if number >= _INT_LIMIT:
        raise ExprSyntaxError(
            f"integer out of range: {_shown(token.value)} does not fit in 64 bits",
            offset=token.start_pos,
        )
    return number


def _pipe_into(node: n.Node, value: n.Node) -> n.Node:
    """``value | node``: ``value`` as the first argument of the call that starts ``node``
    (``x | f() + 1`` is ``f(x) + 1``)."""
    start = value.start
    if isinstance(node, n.Call) and not node.builtin:
        return dataclasses.replace(node, args=(value, *node.args), start=start)
    if isinstance(node, n.Binary):
        return dataclasses.replace(node, left=_pipe_into(node.left, value), start=start)
    if isinstance(node, n.Comparison):
        first, *rest = node.operands
        return dataclasses.replace(node, operands=(_pipe_into(first, value), *rest), start=start)
    raise ExprSyntaxError(
        "the right side of | must be a function call, such as x | upper()", offset=node.start
    )


def _parenthesized(node: n.Node) -> bool:
    """True when ``node`` was written in parentheses (:meth:`Builder.group` widens its span)."""
    last = node.operands[-1] if isinstance(node, n.Comparison) else node.children()[-1]
    return node.end != last.end


class Builder:
    """Builds nodes as the LALR parser reduces; one method per ``-> alias`` of the grammar."""

    # ---- literals and names ---------------------------------------------------------------

    def literal(self, children: list[Token]) -> n.Node:
        token = children[0]
        start, kind = token.start_pos, token.type
        value: Any
        if kind == "STRING":
            value = string_value(token)
        elif kind in ("INT", "FLOAT"):
            value = number_value(token)
        else:
            value = _WORDS.get(kind)
        return n.Literal(value=value, start=start, end=token.end_pos, pos=start)

    def name(self, children: list[Token]) -> n.Node:
        token = children[0]
        start = token.start_pos
        return n.Name(name=token.value, start=start, end=token.end_pos, pos=start)

    def element(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])
        return n.Element(start=start, end=end, pos=start)

    def pointer(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[1])[1]
        return n.Pointer(name=children[1].value, start=start, end=end, pos=start)

    def element_member(self, children: list[Token]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[1])[1]
        return n.ElementMember(name=children[1].value, start=start, end=end, pos=start)

    # ---- calls and groups -----------------------------------------------------------------

    def call(self, children: list[Any]) -> n.Node:
        first: Token = children[0]
        builtin = first.type == "DOUBLE_COLON"
        name: Token = children[1] if builtin else first
        return n.Call(
            name=name.value,
            args=tuple(children[3 if builtin else 2 : -1]),
            builtin=builtin,
            start=first.start_pos,
            end=children[-1].end_pos,
            pos=name.start_pos,
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

    def group(self, children: list[Any]) -> n.Node:
        """``(x)``: ``x``, its span widened to the parentheses (so ``(a < b) < c`` is not
        read as a chain)."""
        opening, node, closing = children
        widened: n.Node = dataclasses.replace(node, start=_span(opening)[0], end=_span(closing)[1])
        return widened

    def block(self, children: list[Any]) -> n.Node:
        opening, body, closing = children
        return n.Block(body=body, start=_span(opening)[0], end=_span(closing)[1], pos=body.pos)

    def pipe(self, children: list[Any]) -> n.Node:
        value, _bar, target = children
        return _pipe_into(target, value)

    # ---- collections ----------------------------------------------------------------------

    def list_literal(self, children: list[Any]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[-1])[1]
        return n.ListLiteral(items=tuple(children[1:-1]), start=start, end=end, pos=start)

    def pair(self, children: list[Any]) -> tuple[str, n.Node, int]:
        key: Token = children[0]
        text = string_value(key) if key.type == "STRING" else key.value
        return text, children[2], _span(key)[0]

    def computed_pair(self, children: list[Any]) -> tuple[str | n.Node, n.Node, int]:
        _open, key, _close, _colon, value = children
        if isinstance(key, n.Literal) and type(key.value) is str:
            return key.value, value, key.start
        return key, value, key.start

    def map_literal(self, children: list[Any]) -> n.Node:
        start, end = _span(children[0])[0], _span(children[-1])[1]
        pairs: list[tuple[str | n.Node, n.Node, int]] = children[1:-1]
        seen: set[str] = set()
        for key, _value, offset in pairs:
            if isinstance(key, str):
                if key in seen:
                    raise ExprSyntaxError(
                        f"map literal repeats the key {n.quote(key)}", offset=offset
                    )
                seen.add(key)
        keys = [key for key, _value, _offset in pairs]
        values = tuple(value for _key, value, _offset in pairs)
        if all(isinstance(key, str) for key in keys):
            return n.MapLiteral(
                keys=tuple(keys),  # type: ignore[arg-type]
                values=values,
                start=start,
                end=end,
                pos=start,
            )
        nodes = tuple(
            key if isinstance(key, n.Node) else n.Literal(value=key, start=offset, pos=offset)
            for key, _value, offset in pairs
        )
        return n.DynamicMap(keys=nodes, values=values, start=start, end=end, pos=start)

    # ---- access ---------------------------------------------------------------------------

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

    def index(self, children: list[Any]) -> n.Node:
        target, *opening, index, close = children
        return n.Index(
            target=target,
            index=index,
            optional=len(opening) == 2,
            start=target.start,
            end=_span(close)[1],
            pos=_span(opening[-1])[0],
        )

    def slice(self, children: list[Any]) -> n.Node:
        target, bracket, *inner, close = children
        colon = next(i for i, item in enumerate(inner) if not isinstance(item, n.Node))
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

    # ---- operators ------------------------------------------------------------------------

    def unary(self, children: list[Any]) -> n.Node:
        op, operand = children
        start = _span(op)[0]
        symbol = _OPERATORS.get(op.type, op.value)
        return n.Unary(op=symbol, operand=operand, start=start, end=operand.end, pos=start)

    def binary(self, children: list[Any]) -> n.Node:
        left, op, right = children
        symbol = _OPERATORS.get(op.type, op.value)
        return n.Binary(
            op=symbol, left=left, right=right, start=left.start, end=right.end, pos=op.start_pos
        )

    logical = binary

    def compare(self, children: list[Any]) -> n.Node:
        """``a < b``, or one more link of a chain ``a < b < c`` (SPEC §2)."""
        left, op, right = children
        pos = _span(op)[0]
        if isinstance(left, n.Comparison) and not _parenthesized(left):
            return dataclasses.replace(
                left,
                operands=(*left.operands, right),
                ops=(*left.ops, op.value),
                positions=(*left.positions, pos),
                end=right.end,
            )
        if isinstance(left, n.Binary) and left.op in n.ORDER and not _parenthesized(left):
            return n.Comparison(
                operands=(left.left, left.right, right),
                ops=(left.op, op.value),
                positions=(left.pos, pos),
                start=left.start,
                end=right.end,
                pos=left.pos,
            )
        return self.binary(children)

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

    # ---- choices, sequences, let ----------------------------------------------------------

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

    def if_else(self, children: list[Any]) -> n.Node:
        """``if c { a } else { b }`` (or ``else if …``): the conditional ``c ? a : b``."""
        keyword, test, _open, then, _close, _else, *rest = children
        otherwise = rest[1] if len(rest) == 3 else rest[0]
        start = _span(keyword)[0]
        return n.Conditional(
            test=test,
            then=then,
            otherwise=otherwise,
            start=start,
            end=_span(rest[-1])[1],
            pos=start,
        )

    def sequence(self, children: list[Any]) -> n.Node:
        return n.Sequence(
            items=tuple(children),
            start=children[0].start,
            end=children[-1].end,
            pos=children[-1].pos,
        )

    def let(self, children: list[Any]) -> n.Node:
        keyword, name, _assign, value, body = children
        return n.Let(
            name=name.value,
            value=value,
            body=body,
            start=_span(keyword)[0],
            end=body.end,
            pos=_span(name)[0],
        )
