"""Hot expressions to generated Python code: one function per expression, compiled once.

An :class:`~kdeps_expr.engine.Expression` that keeps running (``Engine(hot_after=…)``)
is promoted from its closures (compiler.py) to Python source generated from its nodes.
The source inlines the common cases behind exact type checks (``a * 2`` when ``a`` is an
int, ``m.get(name)`` when ``m`` is a map) and calls the very helpers the closures call
(values.py, the built-ins, the closures themselves for calls with constant arguments)
for everything else, each inside the same ``try`` scope as its closure. So values, error
messages and error positions are the same in both tiers; only the number of Python
calls per evaluation differs. Python's ``compile()`` costs more than parsing and building
closures together, which is why only expressions that keep running are promoted.

No user data ever enters the generated text. Every value (literals, member names, map
keys, positions, functions, the source itself) reaches the code through the namespace
under a generated name (``_v7``); the text is made of those names, temporaries (``_t3``),
keywords, and operators taken from fixed tables, never from the node. The namespace has
no builtins: the code sees only what :data:`_HELPERS` and the generator put there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..errors import EvaluationError, ExprError
from . import nodes as n
from . import values as v
from .calls import catches_everything
from .compile_base import Closure, check_result, function_failed, located, over_budget, spend
from .compiler import Compiler
from .context import Context

_SMALL = (1 << 30) - 1
"""Integers within ``±_SMALL`` are one CPython digit: they compare fastest, and the sum,
difference or product of two of them always fits in 64 bits."""

_HELPERS: dict[str, Any] = {
    "__builtins__": {},
    "type": type,
    "int": int,
    "float": float,
    "len": len,
    "str": str,
    "dict": dict,
    "list": list,
    "Exception": Exception,
    "_Context": Context,
    "_EvaluationError": EvaluationError,
    "_ExprError": ExprError,
    "_located": located,
    "_function_failed": function_failed,
    "_check_result": check_result,
    "_equal": v.equal,
    "_member": v.member,
    "_project": v.project,
    "_index": v.index,
    "_slice_of": v.slice_of,
    "_spend": spend,
    "_over_budget": over_budget,
    "_SCALARS": frozenset(type(value) for value in (None, True, 0, 0.0, "")),
    "_SMALL": _SMALL,
}
"""What every generated function may use besides the values the generator adds."""

_ARITHMETIC = frozenset({"+", "-", "*"})
_ORDER = frozenset({"<", "<=", ">", ">="})
_PYTHON = {op: op for op in _ARITHMETIC | _ORDER}
"""The Python text of the operators written inline: the text comes from here, not a node."""
_TESTS = frozenset({"==", "!=", "in", "contains", "startsWith", "endsWith", "matches"})
_VARIABLE: Any = object()


def generate(node: n.Node, compiler: Compiler) -> Callable[..., Any]:
    """The generated ``__call__(self, context=None)`` of a hot Expression for ``node``, which
    ``compiler`` has compiled to closures; any exception goes to ``self._failed``."""
    text, namespace = write(node, compiler)
    exec(compile(text, "<kdeps_expr generated>", "exec"), namespace)
    call: Callable[..., Any] = namespace["__call__"]
    return call


def write(node: n.Node, compiler: Compiler) -> tuple[str, dict[str, Any]]:
    """The Python source :func:`generate` compiles, and the namespace it runs in."""
    generator = _Generator(compiler)
    lines: list[str] = []
    result = generator.node(node, _Block(lines, 2))
    generator.definitions.append(
        "def __call__(self, context=None):\n"
        "    ctx = context if context is not None else _Context()\n"
        + ("    ctx.spent = 0\n" if compiler.charges else "")
        + "    try:\n"
        + "".join(line + "\n" for line in lines)
        + f"        return {result}\n"
        "    except Exception as _e:\n"
        "        self._failed(_e)\n"
    )
    return "\n".join(generator.definitions), generator.namespace


class _Block:
    """Lines of one function body at one indentation depth."""

    def __init__(self, lines: list[str], depth: int) -> None:
        self.lines = lines
        self.depth = depth

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def inner(self) -> _Block:
        return _Block(self.lines, self.depth + 1)


class _Generator:
    """Writes the functions of one expression; made per promotion, never shared."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self.definitions: list[str] = []
        self.source = self.value(compiler.source)
        self.booleans: set[str] = set()
        self._temporaries = 0

    # ---- names ----------------------------------------------------------------------------

    def value(self, value: Any) -> str:
        """A namespace name holding ``value``: the only way a value reaches the code."""
        name = f"_v{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def temporary(self, boolean: bool = False) -> str:
        """A fresh local name; ``boolean`` when it will only ever hold ``True`` or ``False``."""
        self._temporaries += 1
        name = f"_t{self._temporaries}"
        if boolean:
            self.booleans.add(name)
        return name

    def known(self, node: n.Node) -> Any:
        """The value of ``node`` when the compiler found it constant, else ``_VARIABLE``."""
        run = self.compiler.closures[id(node)]
        return self.compiler.constant(run) if self.compiler.is_constant(run) else _VARIABLE

    def spent(self, result: str) -> str:
        """The statement charging ``result`` to the evaluation's budget (compile_base.spend)."""
        return f"_spend(ctx, {result}, {self.value(self.compiler.limits.max_size)})"

    # ---- functions and statements ---------------------------------------------------------

    def function(self, name: str, node: n.Node) -> None:
        """Add ``def name(ctx)`` returning the value of ``node`` (a predicate argument)."""
        lines: list[str] = []
        result = self.node(node, _Block(lines, 1))
        body = "".join(line + "\n" for line in lines)
        self.definitions.append(f"def {name}(ctx):\n{body}    return {result}\n")

    def guarded(
        self, block: _Block, statements: list[str], pos: int, everything: str | None = None
    ) -> None:
        """``statements`` in a ``try`` that locates an evaluation error at ``pos``, as a closure
        does; with ``everything``, any other exception is a failure of that function."""
        where = self.value(pos)
        block.line("try:")
        for statement in statements:
            block.inner().line(statement)
        block.line("except _EvaluationError as _e:")
        block.inner().line(f"raise _located(_e, {self.source}, {where}) from None")
        if everything is not None:
            block.line("except _ExprError:")
            block.inner().line("raise")
            block.line("except Exception as _e:")
            block.inner().line(
                f"raise _located(_function_failed({everything}, _e), {self.source}, {where}) "
                "from _e"
            )

    def branch(self, block: _Block, node: n.Node, result: str) -> None:
        """Evaluate ``node`` inside ``block`` and store its value in ``result``."""
        block.line(f"{result} = {self.node(node, block)}")

    # ---- dispatch -------------------------------------------------------------------------

    def node(self, node: n.Node, block: _Block) -> str:
        """Write the statements computing ``node`` into ``block``; returns the name of its value."""
        constant = self.known(node)
        if constant is not _VARIABLE:
            return self.value(constant)
        run = self.compiler.closures[id(node)]
        if self.compiler.failed(run):  # raises what it raised when it was folded
            return self.closure(run, block)
        match node:
            case n.Binary() if node.op != "..":
                return self.binary(node, block)
            case n.Unary():
                return self.unary(node, block)
            case n.Conditional():
                return self.conditional(node, block)
            case n.Member():
                return self.member(self.node(node.target, block), node.name, node.pos, block)
            case n.ElementMember():
                element = self.temporary()
                block.line(f"{element} = ctx.element")
                return self.member(element, node.name, node.pos, block)
            case n.Element():
                result = self.temporary()
                block.line(f"{result} = ctx.element")
                return result
            case n.Pointer():
                result = self.temporary()
                block.line(
                    f"{result} = ctx.{'position' if node.name == 'index' else 'accumulator'}"
                )
                return result
            case n.Index():
                target, key = self.node(node.target, block), self.node(node.index, block)
                return self.helper("_index", [target, key], node.pos, block)
            case n.Slice():
                target = self.node(node.target, block)
                bounds = [
                    self.value(None) if bound is None else self.node(bound, block)
                    for bound in (node.lower, node.upper)
                ]
                result = self.temporary()
                sliced = f"_slice_of({target}, {', '.join(bounds)})"
                self.guarded(block, [f"{result} = {self.spent(sliced)}"], node.pos)
                return result
            case n.ListLiteral():
                items = [self.node(item, block) for item in node.items]
                result = self.temporary()
                block.line(f"{result} = [{', '.join(items)}]")
                return result
            case n.MapLiteral():
                pairs = [
                    f"{self.value(key)}: {self.node(item, block)}"
                    for key, item in zip(node.keys, node.values, strict=True)
                ]
                result = self.temporary()
                block.line(f"{result} = {{{', '.join(pairs)}}}")
                return result
            case n.Call() | n.MethodCall():
                return self.call(node, block)
        return self.closure(run, block)  # names, let, sequences, chains, ranges, {(k): v}

    def closure(self, run: Closure, block: _Block) -> str:
        """Call the compiler's closure for a node (a ``partial`` through its function)."""
        result = self.temporary()
        if type(run) is partial and not run.keywords:
            arguments = [self.value(argument) for argument in run.args]
            block.line(f"{result} = {self.value(run.func)}({', '.join([*arguments, 'ctx'])})")
        else:
            block.line(f"{result} = {self.value(run)}(ctx)")
        return result

    def helper(self, name: str, arguments: list[str], pos: int, block: _Block) -> str:
        """``name(*arguments)`` located at ``pos`` on failure."""
        result = self.temporary()
        self.guarded(block, [f"{result} = {name}({', '.join(arguments)})"], pos)
        return result

    # ---- operators ------------------------------------------------------------------------

    def binary(self, node: n.Binary, block: _Block) -> str:
        left = self.node(node.left, block)
        if node.op in ("&&", "||", "??"):
            return self.short_circuit(node, left, block)
        right_constant = self.known(node.right)
        right = self.node(node.right, block)
        op = node.op
        if op in _ARITHMETIC:  # two small integers: no overflow possible
            small = type(right_constant) is int and -_SMALL <= right_constant <= _SMALL
            checks = [
                f"type({name}) is int and -_SMALL <= {name} <= _SMALL"
                for name in ([left] if small else [left, right])
            ]
            return self.typed(node, left, right, checks, block)
        if op in _ORDER:  # two numbers
            number = type(right_constant) in (int, float)
            checks = [
                f"(type({name}) is int or type({name}) is float)"
                for name in ([left] if number else [left, right])
            ]
            return self.typed(node, left, right, checks, block)
        result = self.temporary(boolean=op.removeprefix("not ") in _TESTS)
        if op in ("==", "!="):
            negation = "not " if op == "!=" else ""
            if type(right_constant) in self.namespace["_SCALARS"]:
                kind = self.value(type(right_constant))
                test = f"{left} == {right} if type({left}) is {kind}"
            else:
                same = f"type({left}) is type({right}) and type({left}) in _SCALARS"
                test = f"{left} == {right} if {same}"
            block.line(f"{result} = {negation}({test} else _equal({left}, {right}))")
            return result
        negated = op.startswith("not ")
        call = f"{self.value(self.compiler.operation(op))}({left}, {right})"
        if op in ("in", "not in") and type(right_constant) is list:
            strings = self.value(frozenset(item for item in right_constant if type(item) is str))
            block.line(
                f"if type({left}) is str and {left}:"
            )  # a non-empty string equals only itself
            block.inner().line(f"{result} = {left} {'not in' if negated else 'in'} {strings}")
            block.line("else:")
            self.guarded(block.inner(), [f"{result} = {call}"], node.pos)
            return result
        self.guarded(block, [f"{result} = {call}"], node.pos)
        return result

    def short_circuit(self, node: n.Binary, left: str, block: _Block) -> str:
        """``&&`` and ``||`` (booleans) and ``??``: the right operand only when needed."""
        result = self.temporary(boolean=node.op != "??")
        if node.op == "??":
            block.line(f"if {left} is None or {left} == {self.value('')}:")
            self.branch(block.inner(), node.right, result)
            block.line("else:")
            block.inner().line(f"{result} = {left}")
            return result
        block.line(f"if {'' if node.op == '&&' else 'not '}{left}:")
        inner = block.inner()
        right = self.node(node.right, inner)
        inner.line(f"{result} = {right if right in self.booleans else f'not not {right}'}")
        block.line("else:")
        block.inner().line(f"{result} = {'False' if node.op == '&&' else 'True'}")
        return result

    def typed(self, node: n.Binary, left: str, right: str, checks: list[str], block: _Block) -> str:
        """``left op right`` in plain Python when every check holds, else the value operator
        of values.py (which the checks make sure agrees with Python on their types)."""
        result = self.temporary(boolean=node.op in _ORDER)
        python = f"{left} {_PYTHON[node.op]} {right}"
        block.line(f"if {' and '.join(checks)}:")
        block.inner().line(f"{result} = {python}")
        if node.op in _ARITHMETIC:  # + charges what it builds
            call = f"{self.value(self.compiler.contextual(node.op))}(ctx, {left}, {right})"
            if type(self.known(node.right)) is not int:
                # two floats: Python's own arithmetic, unless the result is not finite
                block.line(f"elif type({left}) is float and type({right}) is float:")
                block.inner().line(f"{result} = {python}")
                block.inner().line(f"if {result} - {result} != 0.0:")
                self.guarded(block.inner().inner(), [f"{result} = {call}"], node.pos)
        else:
            call = f"{self.value(self.compiler.operation(node.op))}({left}, {right})"
        block.line("else:")
        self.guarded(block.inner(), [f"{result} = {call}"], node.pos)
        return result

    def unary(self, node: n.Unary, block: _Block) -> str:
        operand = self.node(node.operand, block)
        if node.op == "!":
            result = self.temporary(boolean=True)
            block.line(f"{result} = not {operand}")
            return result
        apply = self.value(v.negate if node.op == "-" else v.plus)
        return self.helper(apply, [operand], node.pos, block)

    def conditional(self, node: n.Conditional, block: _Block) -> str:
        test_value = self.known(node.test)
        then = node.test if node.then is None else node.then
        if test_value is not _VARIABLE:  # only one branch can ever run
            return self.node(then if test_value else node.otherwise, block)
        test = self.node(node.test, block)
        result = self.temporary()
        block.line(f"if {test}:")
        if node.then is None:
            block.inner().line(f"{result} = {test}")
        else:
            self.branch(block.inner(), node.then, result)
        block.line("else:")
        self.branch(block.inner(), node.otherwise, result)
        return result

    # ---- access and calls -----------------------------------------------------------------

    def member(self, target: str, name: str, pos: int, block: _Block) -> str:
        result = self.temporary()
        key = self.value(name)
        limit = self.value(self.compiler.limits.max_size)
        block.line(f"if type({target}) is dict:")
        block.inner().line(f"{result} = {target}.get({key})")
        block.line(f"elif type({target}) is list:")  # a projection, charged
        statements = [
            f"{result} = _project({target}, {key})",
            f"ctx.spent += len({result})",
            f"if ctx.spent > {limit}: raise _over_budget({limit})",
        ]
        self.guarded(block.inner(), statements, pos)
        block.line("else:")  # nil, or an error
        self.guarded(block.inner(), [f"{result} = _member({target}, {key})"], pos)
        return result

    def call(self, node: n.Call | n.MethodCall, block: _Block) -> str:
        """A call shaped as the compiler shapes it, so the same exceptions are caught."""
        function = self.compiler.function(node)
        predicate = function.predicate and len(node.args) > 1
        arguments = [
            self.predicate(arg) if predicate and i == 1 else self.node(arg, block)
            for i, arg in enumerate(node.args)
        ]
        constant = all(
            (predicate and i == 1) or self.known(arg) is not _VARIABLE
            for i, arg in enumerate(node.args)
        )
        if function.pass_context:
            arguments.insert(0, "ctx")
        if function.takes_limits:
            arguments.append(f"limits={self.value(self.compiler.limits)}")
        everything = catches_everything(function, constant, len(node.args))
        if not everything and function.pass_context and constant:
            return self.closure(self.compiler.closures[id(node)], block)
        result = self.temporary()
        statements = [f"{result} = {self.value(function.impl)}({', '.join(arguments)})"]
        name = self.value(function.name)
        if not function.builtin:
            statements.append(f"_check_result({name}, {result})")
        if function.allocates:  # its result is a list, string or map: charge its size inline
            limit = self.value(self.compiler.limits.max_size)
            statements.append(f"ctx.spent += len({result})")
            statements.append(f"if ctx.spent > {limit}: raise _over_budget({limit})")
        self.guarded(block, statements, node.pos, name if everything else None)
        return result

    def predicate(self, node: n.Node) -> str:
        """A generated function for a predicate argument (``.price > 1``, ``{.price > 1}``)."""
        self._temporaries += 1
        name = f"_p{self._temporaries}"
        self.function(name, node.body if isinstance(node, n.Block) else node)
        return name
