"""``{{ expr }}`` and ``<< expr >>`` templates (SPEC §4): splitting text into blocks.

A block ends at the first closing delimiter outside string literals and brackets, so
``{{ '}}' }}`` and ``{{ {'a': {'b': 1}} }}`` read as one would hope. ``\\{{`` and ``\\<<``
write the delimiter itself. Splitting is one pass over the text and produces text pieces
and :class:`Block` positions; the Engine compiles the blocks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Container
from dataclasses import dataclass
from functools import cache

from ..errors import ExprSyntaxError, LimitError
from . import nodes as n

DELIMITERS: dict[str, str] = {"{{": "}}", "<<": ">>"}
DEFAULT_DELIMITERS: tuple[str, ...] = ("{{", "<<")

_OPENING = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True, slots=True)
class Block:
    """One ``{{ … }}`` block: where it opens, where its expression lies, where it closes."""

    start: int
    inner_start: int
    inner_end: int
    end: int


@dataclass(frozen=True, slots=True)
class Split:
    """A text cut into literal pieces (escapes resolved) and blocks, in order."""

    parts: tuple[str | Block, ...]
    escaped: bool

    @property
    def is_template(self) -> bool:
        """True when the text has a block or an escaped delimiter."""
        return self.escaped or any(isinstance(part, Block) for part in self.parts)

    def single_block(self, text: str) -> Block | None:
        """The block, when the text is exactly one block with only white space around it."""
        blocks = [part for part in self.parts if isinstance(part, Block)]
        if len(blocks) != 1 or self.escaped:
            return None
        rest = "".join(part for part in self.parts if isinstance(part, str))
        return blocks[0] if not rest.strip() else None


def check_delimiters(delimiters: tuple[str, ...]) -> tuple[str, ...]:
    """The delimiters, validated: each must be ``{{`` or ``<<``."""
    unknown = [d for d in delimiters if d not in DELIMITERS]
    if unknown:
        raise ExprSyntaxError(
            f"unknown template delimiter {unknown[0]!r}; the delimiters are '{{{{' and '<<'"
        )
    return tuple(delimiters)


def _block_end(text: str, start: int, closer: str) -> int | None:
    """Offset of the closing delimiter of the block whose expression starts at ``start``."""
    depth = 0
    marks = _block_marks(closer)
    found = marks.search(text, start)
    while found is not None:
        i = found.start()
        char = text[i]
        if char in "'\"":
            string = _STRING_BODIES[char].match(text, i + 1)
            assert string is not None  # the pattern matches the empty string too
            body = string.end()
            if body >= len(text) or text[body] != char:
                return None  # the string, and so the block, never closes
            found = marks.search(text, body + 1)
            continue
        if depth == 0 and text.startswith(closer, i):
            return i
        if char in _OPENING:
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        found = marks.search(text, i + 1)
    return None


_QUOTES_AND_BRACKETS = "'\"()[]{}"
_STRING_BODIES = {quote: re.compile(rf"(?:[^{quote}\\]|\\.)*", re.DOTALL) for quote in "'\""}
"""What follows an opening quote up to its closing one: any character but the quote, a
backslash escaping any character."""


@cache
def _block_marks(closer: str) -> re.Pattern[str]:
    """Where :func:`_block_end` has something to decide: a quote, a bracket, the closer."""
    return re.compile(f"[{re.escape(_QUOTES_AND_BRACKETS + closer[0])}]")


@cache
def _marks(delimiters: tuple[str, ...]) -> re.Pattern[str]:
    """Where :func:`split` has something to decide: a backslash, or an opening delimiter."""
    return re.compile("|".join(["\\\\", *(re.escape(d) for d in delimiters)]))


def split(
    text: str, delimiters: tuple[str, ...] = DEFAULT_DELIMITERS, max_blocks: int | None = None
) -> Split:
    """Cut ``text`` into literal pieces and blocks; an unclosed or empty block is an error,
    and so is a block past ``max_blocks``."""
    parts: list[str | Block] = []
    literal: list[str] = []
    escaped = False
    blocks = 0
    anchor = 0  # start of the literal run not yet copied into ``literal``
    marks = _marks(delimiters)
    found = marks.search(text)
    while found is not None:
        i = found.start()
        if text[i] == "\\":
            opener = next((d for d in delimiters if text.startswith(d, i + 1)), None)
            if opener is not None:
                literal.append(text[anchor:i] + opener)
                escaped = True
                anchor = i + 1 + len(opener)
                found = marks.search(text, anchor)
                continue
        else:
            opener = next(d for d in delimiters if text.startswith(d, i))
            inner = i + len(opener)
            close = _block_end(text, inner, DELIMITERS[opener])
            if close is None:
                raise ExprSyntaxError(f"unclosed {opener!r}", source=text, offset=i)
            if not text[inner:close].strip():
                raise ExprSyntaxError(
                    f"empty {opener} {DELIMITERS[opener]} block", source=text, offset=i
                )
            literal.append(text[anchor:i])
            if any(literal):
                parts.append("".join(literal))
            literal = []
            blocks += 1
            if max_blocks is not None and blocks > max_blocks:
                raise LimitError(
                    f"template has too many blocks: more than {max_blocks:,}",
                    source=text,
                    offset=i,
                )
            end = close + len(DELIMITERS[opener])
            parts.append(Block(start=i, inner_start=inner, inner_end=close, end=end))
            anchor = end
            found = marks.search(text, anchor)
            continue
        found = marks.search(text, i + 1)
    literal.append(text[anchor:])
    if any(literal):
        parts.append("".join(literal))
    return Split(parts=tuple(parts), escaped=escaped)


def shorthand(node: n.Node, objects: Container[str]) -> n.Node:
    """KDeps' shorthand (SPEC §2): a block that is only a name or a dotted path reads it
    with ``get`` (``{{q}}`` is ``{{ get('q') }}``, ``{{user.name}}`` is
    ``{{ get('user').name }}``), unless the name is one of KDeps' objects
    (``{{request.method}}``). Any other block is returned as it is."""
    if isinstance(node, n.Member):
        target = shorthand(node.target, objects)
        return node if target is node.target else dataclasses.replace(node, target=target)
    if isinstance(node, n.Name) and node.name not in objects:
        key = n.Literal(value=node.name, start=node.start, end=node.end, pos=node.pos)
        return n.Call(name="get", args=(key,), start=node.start, end=node.end, pos=node.pos)
    return node
