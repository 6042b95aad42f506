"""Syntax nodes to fast Python closures, checking limits and folding constants on the way.

Each node becomes one closure ``run(context) -> value`` built once; evaluating an
expression is then a chain of plain Python calls, with no dispatch on node types. A
closure that can fail catches the :class:`EvaluationError` its operation raises and pins
the node's position on it (``try`` costs nothing in CPython 3.11 until something raises).

This module dispatches on node types and compiles names, ``let``, sequences, access and
collections; operators.py and calls.py compile operators and calls, compile_base.py holds
what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import EvaluationError, LimitError
from . import nodes as n
from . import values as v
from .calls import CallCompiler
from .compile_base import VARIABLE, Closure, located, spend
from .context import Context
from .functions import OBJECTS, Function
from .limits import Limits
from .operators import OperatorCompiler
from .parser import QUOTES, string_end

UNSUPPORTED_NAMES = {
    "$env": "$env is not supported: read the request with get(key) and the process "
    "environment with env(name)",
}
POINTERS = ("index", "acc")


def check_size(source: str, limits: Limits, start: int = 0, end: int | None = None) -> None:
    """Refuse ``source[start:end]`` when longer than the limit or when its brackets nest too
    deep; checked before parsing, so hostile input costs one linear scan."""
    end = len(source) if end is None else end
    if end - start > limits.max_source:
        raise LimitError(
            f"expression too long: {end - start:,} characters (the limit is {limits.max_source:,})"
        )
    if sum(source.count(bracket, start, end) for bracket in "([{") <= limits.max_depth:
        return  # too few brackets to nest too deep, even outside strings
    depth = 0
    offset = start
    while offset < end:
        char = source[offset]
        if char in QUOTES:
            offset = string_end(source, offset, end)
            continue
        if char in "([{":
            depth += 1
            if depth > limits.max_depth:
                raise LimitError(
                    f"expression nested too deeply (the limit is {limits.max_depth} levels)",
                    source=source,
                    offset=offset,
                )
        elif char in ")]}":
            depth -= 1
        offset += 1


class Compiler(OperatorCompiler, CallCompiler):
    """Compiles the nodes of one source text; made per compilation, never shared."""

    def __init__(self, functions: Mapping[str, Function], limits: Limits, source: str) -> None:
        super().__init__(functions, limits, source)
        self._scopes: list[dict[str, tuple[object, Any]]] = []
        """The ``let`` names in scope, innermost last: name -> (key, constant or VARIABLE)."""

    def compile(self, node: n.Node, width: int | None = None) -> Closure:
        """The closure for ``node``, parsed from ``width`` characters (when known); raises
        :class:`ExprError` for what cannot compile.

        The node and depth limits are checked first, unless ``width`` is below both: every
        node holds a token of its own, at least a character long, but the one KDeps'
        ``{{q}}`` shorthand adds, so such a short text cannot breach them.
        """
        limits = self.limits
        if width is None or width >= min(limits.max_nodes, limits.max_depth):
            self._measure(node)
        return self._compile(node, "")

    # ---- limits -----------------------------------------------------------------------------

    def _measure(self, root: n.Node) -> None:
        count = 0
        stack = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > self.limits.max_nodes:
                raise LimitError(
                    f"expression too complex: more than {self.limits.max_nodes:,} nodes",
                    source=self.source,
                    offset=node.start,
                )
            if depth > self.limits.max_depth:
                raise LimitError(
                    f"expression nested too deeply (the limit is {self.limits.max_depth} levels)",
                    source=self.source,
                    offset=node.start,
                )
            stack.extend((child, depth + 1) for child in node.children())

    # ---- dispatch -------------------------------------------------------------------------

    def _compile(self, node: n.Node, in_predicate: str) -> Closure:
        compile_node = _BY_TYPE.get(type(node))
        if compile_node is None:
            raise self._error(f"cannot compile {type(node).__name__}", node)  # pragma: no cover
        run = compile_node(self, node, in_predicate)
        self.closures[id(node)] = run
        return run

    def _literal(self, node: n.Literal, in_predicate: str) -> Closure:
        return self._constant(node.value)

    def _block(self, node: n.Block, in_predicate: str) -> Closure:
        raise self._error(
            "braces { } hold a predicate, such as filter(items, {.price > 1}); "
            "a map is written {key: value}",
            node,
        )

    # ---- names, let, sequences --------------------------------------------------------------

    def _name(self, node: n.Name, in_predicate: str) -> Closure:
        """A ``let`` name, or one of KDeps' objects (``request``, ``input``, ``item``, ``loop``)."""
        for scope in reversed(self._scopes):
            if node.name in scope:
                key, constant = scope[node.name]
                if constant is not VARIABLE:
                    return self._constant(constant)
                return lambda ctx: ctx.variables[key]
        read = OBJECTS.get(node.name)
        if read is not None:
            return read
        if node.name in UNSUPPORTED_NAMES:
            raise self._error(UNSUPPORTED_NAMES[node.name], node)
        raise self._error(f"unknown name {node.name}", node)

    def _let(self, node: n.Let, in_predicate: str) -> Closure:
        """``let name = value; body``: ``name`` is ``value`` inside ``body`` only."""
        name = node.name
        if any(name in scope for scope in self._scopes):
            raise self._error(f"cannot redeclare variable {name}", node)
        if name in self.functions or name in OBJECTS:
            raise self._error(f"cannot redeclare {name}: it names a built-in", node)
        value = self._compile(node.value, in_predicate)
        key = object()
        constant = self._constants.get(value, VARIABLE)
        self._scopes.append({name: (key, constant)})
        try:
            body = self._compile(node.body, in_predicate)
        finally:
            self._scopes.pop()
        if constant is not VARIABLE:
            return body  # every use of the name is the constant itself

        def run(ctx: Context) -> Any:
            ctx.variables[key] = value(ctx)
            return body(ctx)

        return run

    def _sequence(self, node: n.Sequence, in_predicate: str) -> Closure:
        """``a; b; c``: each in turn, the value of the last; constant steps do nothing."""
        *steps, last = (self._compile(item, in_predicate) for item in node.items)
        effects = tuple(step for step in steps if step not in self._constants)
        if not effects:
            return last

        def run(ctx: Context) -> Any:
            for step in effects:
                step(ctx)
            return last(ctx)

        return run

    def _element(self, node: n.Element | n.ElementMember, in_predicate: str) -> Closure:
        if not in_predicate:
            what = "#" if isinstance(node, n.Element) else f".{node.name}"
            raise self._error(
                f"{what} is only valid inside a predicate, such as filter(items, .price > 1)", node
            )
        if isinstance(node, n.Element):
            return lambda ctx: ctx.element
        name, source, pos, limit = node.name, self.source, node.pos, self.limits.max_size
        self.charges = True

        def run(ctx: Context) -> Any:
            element = ctx.element
            if type(element) is dict:
                return element.get(name)
            try:
                return spend(ctx, v.member(element, name), limit)  # a projection builds a list
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def _pointer(self, node: n.Pointer, in_predicate: str) -> Closure:
        """``#index`` (the element's position) and ``#acc`` (``reduce``'s accumulator)."""
        if node.name not in POINTERS:
            raise self._error(f"unknown pointer #{node.name} (pointers are #, #index, #acc)", node)
        if not in_predicate:
            raise self._error(
                f"#{node.name} is only valid inside a predicate, such as map(xs, #index)", node
            )
        if node.name == "index":
            return lambda ctx: ctx.position
        if in_predicate != "reduce":
            raise self._error(
                "#acc is only valid inside reduce(), such as reduce(xs, #acc + #)", node
            )
        return lambda ctx: ctx.accumulator

    # ---- access -----------------------------------------------------------------------------

    def _member(self, node: n.Member, in_predicate: str) -> Closure:
        target = self._compile(node.target, in_predicate)
        name, source, pos, limit = node.name, self.source, node.pos, self.limits.max_size
        self.charges = True

        def run(ctx: Context) -> Any:
            value = target(ctx)
            if type(value) is dict:
                return value.get(name)
            try:
                return spend(ctx, v.member(value, name), limit)  # a projection builds a list
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target)

    def _index(self, node: n.Index, in_predicate: str) -> Closure:
        target = self._compile(node.target, in_predicate)
        key = self._compile(node.index, in_predicate)
        source, pos = self.source, node.pos

        def run(ctx: Context) -> Any:
            try:
                return v.index(target(ctx), key(ctx))
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target, key)

    def _slice(self, node: n.Slice, in_predicate: str) -> Closure:
        target = self._compile(node.target, in_predicate)
        none = self._constant(None)
        lower = none if node.lower is None else self._compile(node.lower, in_predicate)
        upper = none if node.upper is None else self._compile(node.upper, in_predicate)
        source, pos, limit = self.source, node.pos, self.limits.max_size
        self.charges = True

        def run(ctx: Context) -> Any:
            try:
                return spend(ctx, v.slice_of(target(ctx), lower(ctx), upper(ctx)), limit)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target, lower, upper)

    # ---- collections ------------------------------------------------------------------------

    def _list(self, node: n.ListLiteral, in_predicate: str) -> Closure:
        items = tuple(self._compile(item, in_predicate) for item in node.items)
        return lambda ctx: [item(ctx) for item in items]

    def _map(self, node: n.MapLiteral, in_predicate: str) -> Closure:
        pairs = tuple(
            (key, self._compile(value, in_predicate))
            for key, value in zip(node.keys, node.values, strict=True)
        )
        return lambda ctx: {key: value(ctx) for key, value in pairs}

    def _dynamic_map(self, node: n.DynamicMap, in_predicate: str) -> Closure:
        """``{(k): v}``: each key must be a string, and no key may come twice."""
        pairs = tuple(
            (self._compile(key, in_predicate), self._compile(value, in_predicate), key.start)
            for key, value in zip(node.keys, node.values, strict=True)
        )
        source = self.source

        def run(ctx: Context) -> dict[str, Any]:
            result: dict[str, Any] = {}
            for key, value, pos in pairs:
                name = key(ctx)
                if type(name) is not str:
                    error = EvaluationError(f"map key must be a string, got {v.type_name(name)}")
                    raise located(error, source, pos)
                if name in result:
                    raise located(
                        EvaluationError(f"map literal repeats the key {name!r}"), source, pos
                    )
                result[name] = value(ctx)
            return result

        return run


_BY_TYPE: dict[type[n.Node], Callable[[Compiler, Any, str], Closure]] = {
    n.Literal: Compiler._literal,
    n.Binary: Compiler._binary,
    n.Call: Compiler._call,
    n.MethodCall: Compiler._call,
    n.Member: Compiler._member,
    n.Unary: Compiler._unary,
    n.Conditional: Compiler._conditional,
    n.Comparison: Compiler._comparison,
    n.Index: Compiler._index,
    n.Slice: Compiler._slice,
    n.ListLiteral: Compiler._list,
    n.MapLiteral: Compiler._map,
    n.DynamicMap: Compiler._dynamic_map,
    n.Element: Compiler._element,
    n.ElementMember: Compiler._element,
    n.Pointer: Compiler._pointer,
    n.Name: Compiler._name,
    n.Let: Compiler._let,
    n.Sequence: Compiler._sequence,
    n.Block: Compiler._block,
}
"""How each kind of node compiles (one dictionary look-up, where a ``match`` tried the
kinds in turn)."""
