"""``check``'s warnings about templates in python scripts and SQL queries (SPEC §12).

Here a template block in a script or a query is data: a Python literal or escaped string
text, a bound SQL parameter. KDeps splices the same block's text into the code, so a file
written this way is injectable where KDeps runs it, and a block meant to write code
(``ORDER BY {{ get('sort') }}``, ``{{ 'WHERE id = ' + get('id') }}``) does not do here
what it says. Each such block gets a warning that says what it becomes here and what to
write instead: ``params`` with ``$1`` placeholders, or ``args`` read from ``sys.argv``.
A block in a comment writes nothing and gets none.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...actions.python_source import CODE, COMMENT, PythonScript
from ...actions.sql import QueryTemplate
from ...errors import ExprError, WorkflowWarning
from ...language import nodes as n
from ...language.engine import Expression
from ..model import Action, ListValue, MapValue, Value
from .scripts import Script

_PYTHON_CODE = (
    "a template in python code: its value is written here as a Python literal, but KDeps "
    "splices its text into the script (code injection, and Go's rendering of lists and "
    "maps); pass the value in args and read it from sys.argv"
)
_PYTHON_STRING = (
    "a template in a python string: its value is escaped here for the string, but KDeps "
    "splices its text raw (a quote in the value ends the string and runs code); pass the "
    "value in args and read it from sys.argv"
)
_SQL_VALUE = (
    "a template in a SQL query: its value is bound here as a parameter, but KDeps splices "
    "its text into the query (SQL injection); write $1, $2… in the query and the values "
    "in params"
)
_SQL_TEXT = (
    "this template builds SQL text from values by concatenation: here its whole value is "
    "bound as one parameter and never read as SQL (KDeps splices it: SQL injection); write "
    "the SQL in the query, $1, $2… where the values go, and the values in params"
)


def executor_warnings(action: Action) -> Iterator[ExprError]:
    """The warnings about the templates of one python or sql block."""
    for value in _scripts(action):
        code = value.code
        if isinstance(code, PythonScript):
            for position, place in code.places.items():
                if place.kind != COMMENT:
                    block = code.template.parts[position]
                    assert isinstance(block, Expression)
                    text = _PYTHON_CODE if place.kind == CODE else _PYTHON_STRING
                    yield _warning(value, block, text)
        elif isinstance(code, QueryTemplate):
            bound = {piece for piece in code.pieces if isinstance(piece, int)}
            for number in sorted(bound):
                block = code.blocks[number]
                whole = len(code.pieces) == 1
                text = _SQL_TEXT if whole or _concatenates(block.node) else _SQL_VALUE
                yield _warning(value, block, text)


def _scripts(action: Action) -> Iterator[Script]:
    if action.kind not in ("python", "sql"):
        return
    for key, value in action.fields:
        if isinstance(value, Script):
            yield value
        elif key == "queries" and isinstance(value, ListValue):
            for item in value.items:
                yield from _query_of(item)


def _query_of(item: Value) -> Iterator[Script]:
    if isinstance(item, MapValue):
        yield from (v for k, v in item.items if k == "query" and isinstance(v, Script))


def _concatenates(node: n.Node) -> bool:
    """True when ``node`` joins text with ``+`` and at least one operand is not a literal."""
    if not (isinstance(node, n.Binary) and node.op == "+"):
        return False
    operands = list(_operands(node))
    text = any(isinstance(o, n.Literal) and isinstance(o.value, str) for o in operands)
    return text and not all(isinstance(o, n.Literal) for o in operands)


def _operands(node: n.Node) -> Iterator[n.Node]:
    if isinstance(node, n.Binary) and node.op == "+":
        yield from _operands(node.left)
        yield from _operands(node.right)
    else:
        yield node


def _warning(value: Script, block: Expression, message: str) -> ExprError:
    """A warning at the block's opening delimiter."""
    return value.site.scalar.place(WorkflowWarning(message), max(block.start - 2, 0))
