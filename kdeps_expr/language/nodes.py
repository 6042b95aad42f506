"""The syntax tree: one frozen dataclass per construct; ``str(node)`` prints source back.

Every node carries ``start``/``end`` (offsets into the compiled text) and ``pos``, the
offset an error about the node points at (an operator, a call's name, a bracket).
Positions take no part in equality, so two parses of equivalent source compare equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Binding strength of each construct when printed; higher binds tighter (SPEC §2 table).
# A sequence and a `let` (whose body runs to the end) bind loosest of all.
SEQUENCE, TERNARY, OR, AND, COMPARE, RANGE, SUM, PRODUCT, UNARY, POWER, COALESCE, POSTFIX = range(
    12
)

BINARY_PRECEDENCE: dict[str, int] = {
    "||": OR,
    "&&": AND,
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">="), COMPARE),
    **dict.fromkeys(("in", "contains", "startsWith", "endsWith", "matches"), COMPARE),
    **dict.fromkeys(("not in", "not contains", "not startsWith"), COMPARE),
    **dict.fromkeys(("not endsWith", "not matches"), COMPARE),
    "..": RANGE,
    "+": SUM,
    "-": SUM,
    "*": PRODUCT,
    "/": PRODUCT,
    "%": PRODUCT,
    "**": POWER,
    "??": COALESCE,
}
RIGHT_ASSOCIATIVE = frozenset({"**"})
ORDER = frozenset({"<", "<=", ">", ">="})
"""The comparisons that chain: ``a < b < c`` is ``a < b && b < c``."""


def _position() -> Any:
    return field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every node."""

    start: int = _position()
    end: int = _position()
    pos: int = _position()

    precedence: ClassVar[int] = POSTFIX + 1

    def children(self) -> tuple[Node, ...]:
        """The direct subexpressions, left to right."""
        return ()


def _wrap(node: Node, minimum: int) -> str:
    """``node`` printed, in parentheses when it binds looser than ``minimum``."""
    text = str(node)
    return f"({text})" if node.precedence < minimum else text


def _item(node: Node) -> str:
    """``node`` where one expression goes (an argument, an item, a branch): a sequence or a
    ``let`` in parentheses."""
    return _wrap(node, TERNARY)


def _ordered(node: Node) -> bool:
    """True for ``a < b`` and ``a < b < c``, which a following ``<`` would extend."""
    return isinstance(node, Comparison) or (isinstance(node, Binary) and node.op in ORDER)


def quote(text: str) -> str:
    """A string literal for ``text``, in single quotes, that the grammar reads back."""
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal(Node):
    """``nil``, ``true``, ``42``, ``0.5``, ``'text'``."""

    value: Any

    def __str__(self) -> str:
        value = self.value
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return quote(value)
        return repr(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    """A bare identifier; valid only as a function name, so compiling one is an error."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLiteral(Node):
    """``[a, b]``."""

    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items

    def __str__(self) -> str:
        return "[" + ", ".join(_item(item) for item in self.items) + "]"


@dataclass(frozen=True, slots=True, kw_only=True)
class MapLiteral(Node):
    """``{a: 1, 'b c': 2}``; keys are strings."""

    keys: tuple[str, ...]
    values: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.values

    def __str__(self) -> str:
        pairs = zip(self.keys, self.values, strict=True)
        return "{" + ", ".join(f"{quote(key)}: {_item(value)}" for key, value in pairs) + "}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicMap(Node):
    """``{(key): value, …}``: a map literal with a computed key (each key a node)."""

    keys: tuple[Node, ...]
    values: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return (*self.keys, *self.values)

    def __str__(self) -> str:
        pairs = []
        for key, value in zip(self.keys, self.values, strict=True):
            literal = isinstance(key, Literal) and type(key.value) is str
            written = str(key) if literal else f"({key})"
            pairs.append(f"{written}: {_item(value)}")
        return "{" + ", ".join(pairs) + "}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    """``!x``, ``-x``, ``+x`` (``not x`` reads as ``!x``)."""

    op: str
    operand: Node

    precedence: ClassVar[int] = UNARY

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def __str__(self) -> str:
        return f"{self.op}{_wrap(self.operand, UNARY)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary(Node):
    """``left op right`` for every binary operator, ``&&``/``||`` and ``??`` included."""

    op: str
    left: Node
    right: Node

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return BINARY_PRECEDENCE[self.op]

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def __str__(self) -> str:
        level = self.precedence
        if self.op in RIGHT_ASSOCIATIVE:
            # The exponent may be a unary expression (2 ** -1); the base may not.
            left, right = _wrap(self.left, level + 1), _wrap(self.right, UNARY)
        elif self.op == "??" and isinstance(self.right, Unary):
            left, right = _wrap(self.left, level), _wrap(self.right, UNARY)  # x ?? -1
        elif self.op in ORDER and _ordered(self.left):
            left, right = f"({self.left})", _wrap(self.right, level + 1)  # not a chain
        else:
            left, right = _wrap(self.left, level), _wrap(self.right, level + 1)
        return f"{left} {self.op} {right}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison(Node):
    """``a < b <= c``: a chain of ``< <= > >=``, each operand evaluated once; true when
    every comparison holds (``a < b && b <= c``). ``positions`` are the operators'."""

    operands: tuple[Node, ...]
    ops: tuple[str, ...]
    positions: tuple[int, ...] = field(default=(), compare=False, repr=False)

    precedence: ClassVar[int] = COMPARE

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def __str__(self) -> str:
        first, *rest = self.operands
        text = f"({first})" if _ordered(first) else _wrap(first, COMPARE)
        for op, operand in zip(self.ops, rest, strict=True):
            text += f" {op} {_wrap(operand, RANGE)}"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditional(Node):
    """``test ? then : otherwise``, or ``test ?: otherwise`` when ``then`` is ``None``."""

    test: Node
    then: Node | None = None
    otherwise: Node

    precedence: ClassVar[int] = TERNARY

    def children(self) -> tuple[Node, ...]:
        if self.then is None:
            return (self.test, self.otherwise)
        return (self.test, self.then, self.otherwise)

    def __str__(self) -> str:
        test = _wrap(self.test, OR)
        if self.then is None:
            return f"{test} ?: {_item(self.otherwise)}"
        return f"{test} ? {_item(self.then)} : {_item(self.otherwise)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Member(Node):
    """``target.name`` or ``target?.name``; over a list it projects (SPEC §2)."""

    target: Node
    name: str
    optional: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.target,)

    def __str__(self) -> str:
        dot = "?." if self.optional else "."
        return f"{_wrap(self.target, POSTFIX)}{dot}{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Index(Node):
    """``target[index]`` or ``target?.[index]``; a negative list or string index counts from
    the end."""

    target: Node
    index: Node
    optional: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.target, self.index)

    def __str__(self) -> str:
        dot = "?." if self.optional else ""
        return f"{_wrap(self.target, POSTFIX)}{dot}[{_item(self.index)}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice(Node):
    """``target[lower:upper]`` with either bound optional."""

    target: Node
    lower: Node | None = None
    upper: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return tuple(n for n in (self.target, self.lower, self.upper) if n is not None)

    def __str__(self) -> str:
        lower = "" if self.lower is None else _item(self.lower)
        upper = "" if self.upper is None else _item(self.upper)
        return f"{_wrap(self.target, POSTFIX)}[{lower}:{upper}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    """``name(arg, …)``; ``::name(…)`` (``builtin``) names the built-in even where a
    program registered its own ``name``. ``x | f(y)`` is the call ``f(x, y)``."""

    name: str
    args: tuple[Node, ...]
    builtin: bool = False

    def children(self) -> tuple[Node, ...]:
        return self.args

    def __str__(self) -> str:
        prefix = "::" if self.builtin else ""
        return f"{prefix}{self.name}(" + ", ".join(_item(arg) for arg in self.args) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodCall(Node):
    """``target.name(arg, …)``: a function of one of KDeps' objects (``item.current()``,
    ``request.file('doc')``, ``exec.exitCode('build')``); values themselves have no methods."""

    target: Node
    name: str
    args: tuple[Node, ...]

    @property
    def function(self) -> str:
        """The name of the function it calls: ``item.current``; ``.name`` on a value."""
        target = self.target
        return f"{target.name}.{self.name}" if isinstance(target, Name) else f".{self.name}"

    def children(self) -> tuple[Node, ...]:
        return (self.target, *self.args)

    def __str__(self) -> str:
        arguments = ", ".join(_item(arg) for arg in self.args)
        return f"{_wrap(self.target, POSTFIX)}.{self.name}({arguments})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Element(Node):
    """``#``: the element a predicate is looking at."""

    def __str__(self) -> str:
        return "#"


@dataclass(frozen=True, slots=True, kw_only=True)
class ElementMember(Node):
    """``.name``: a member of the element a predicate is looking at."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pointer(Node):
    """``#index`` (the position of the element in a predicate) or ``#acc`` (the
    accumulator of ``reduce``)."""

    name: str

    def __str__(self) -> str:
        return f"#{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Block(Node):
    """``{ body }``: a predicate in braces, ``filter(xs, {# > 1})``."""

    body: Node

    def children(self) -> tuple[Node, ...]:
        return (self.body,)

    def __str__(self) -> str:
        return f"{{{self.body}}}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sequence(Node):
    """``a; b; c``: each in turn; the value is the last one's."""

    items: tuple[Node, ...]

    precedence: ClassVar[int] = SEQUENCE

    def children(self) -> tuple[Node, ...]:
        return self.items

    def __str__(self) -> str:
        *first, last = self.items
        tail = f"({last})" if isinstance(last, Sequence) else str(last)
        return "; ".join([*(_item(item) for item in first), tail])


@dataclass(frozen=True, slots=True, kw_only=True)
class Let(Node):
    """``let name = value; body``: ``name`` is ``value`` inside ``body``."""

    name: str
    value: Node
    body: Node

    precedence: ClassVar[int] = SEQUENCE

    def children(self) -> tuple[Node, ...]:
        return (self.value, self.body)

    def __str__(self) -> str:
        return f"let {self.name} = {_item(self.value)}; {self.body}"


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (iterative: deep trees are fine)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))
