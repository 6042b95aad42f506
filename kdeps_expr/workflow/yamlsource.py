"""YAML documents whose every scalar knows where each of its characters sits in the file.

The workflow loader needs more than values: an error inside an expression must point at
the bad character of the YAML file itself, whether the expression is a plain scalar that
YAML folded over several lines, a quoted one with escapes, or a block scalar. This module
composes YAML with PyYAML (the C parser when available) into a small located tree:

* :class:`Scalar` holds the constructed value and can turn an offset into its string value
  back into a file line and column (:meth:`Scalar.position`);
* :class:`Mapping` keeps its keys as located scalars, rejects duplicate keys and resolves
  merge keys (``<<``);
* :class:`Sequence` keeps its items.

The offset mapping replays PyYAML's own scanning rules (line folding, ``''`` in
single-quoted scalars, the escapes of double-quoted ones, block indentation and chomping)
while recording the file index of every character it produces, and checks that the replay
yields exactly the value PyYAML produced; when it does not (an exotic construct), positions
fall back to the start of the scalar rather than point at a wrong character.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ..errors import ExprError, WorkflowError

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (several times faster), else PyYAML's."""

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    {
        _STR,
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    }
)
_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}


class SourceFile:
    """One YAML file: the name errors show, its text, and line lookups."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        index = self.text.find("\n")
        while index != -1:
            starts.append(index + 1)
            index = self.text.find("\n", index + 1)
        return starts

    def line_column(self, index: int) -> tuple[int, int]:
        """The 1-based line and column of the character at ``index``."""
        line = bisect.bisect_right(self._line_starts, index) - 1
        return line + 1, index - self._line_starts[line] + 1

    def line_start(self, line: int) -> int:
        """The index of the first character of the 1-based ``line``."""
        return self._line_starts[min(max(line, 1), len(self._line_starts)) - 1]

    def line_text(self, line: int) -> str:
        """The text of the 1-based ``line``, without its line break."""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end != -1 else len(self.text)]

    def place(self, error: ExprError, index: int) -> ExprError:
        """Move ``error`` to the character at ``index`` of this file; returns it."""
        line, column = self.line_column(index)
        return error.place(self.name, line, column, self.line_text(line))

    def error(self, message: str, index: int) -> WorkflowError:
        """A :class:`WorkflowError` at the character at ``index`` of this file."""
        error = WorkflowError(message)
        self.place(error, index)
        return error


@dataclass(eq=False)
class Node(ABC):
    """A located YAML node: the file it comes from and the index where it starts."""

    source: SourceFile
    start: int

    def error(self, message: str) -> WorkflowError:
        """A :class:`WorkflowError` pointing at the start of this node."""
        return self.source.error(message, self.start)

    @abstractmethod
    def to_python(self) -> Any:
        """The plain Python value: dicts, lists, strings, numbers, booleans, ``None``."""


@dataclass(eq=False)
class Scalar(Node):
    """A YAML scalar with its constructed value and the rules to locate its characters."""

    value: Any
    style: str | None = None
    end: int = 0

    def to_python(self) -> Any:
        return self.value

    @property
    def source_text(self) -> str:
        """The scalar as written in the file (``1.10`` for the float ``1.1``)."""
        return self.source.text[self.start : self.end]

    @cached_property
    def _indices(self) -> list[int] | None:
        if not isinstance(self.value, str):
            return None
        indices = _decode(self.source.text, self.start, self.end, self.style, self.value)
        return indices if indices is not None and len(indices) == len(self.value) else None

    def index(self, offset: int | None) -> int:
        """The file index of character ``offset`` of the string value (past its end: after it).

        ``None``, a non-string value, or a scalar whose characters cannot be replayed give
        the start of the scalar.
        """
        indices = self._indices
        if offset is None or indices is None:
            return self.start
        if not indices:
            return self.start + 1 if self.style in ("'", '"') else self.start
        if offset >= len(indices):
            return indices[-1] + 1
        return indices[max(offset, 0)]

    def position(self, offset: int | None) -> tuple[int, int]:
        """The 1-based file line and column of character ``offset`` of the value."""
        return self.source.line_column(self.index(offset))

    def place(self, error: ExprError, offset: int | None) -> ExprError:
        """Move ``error`` to character ``offset`` of this scalar's value in the file."""
        return self.source.place(error, self.index(offset))


@dataclass(eq=False)
class Sequence(Node):
    """A YAML sequence of located nodes."""

    items: list[Node] = field(default_factory=list)

    def to_python(self) -> list[Any]:
        return [item.to_python() for item in self.items]


@dataclass(eq=False)
class Mapping(Node):
    """A YAML mapping with string keys, in file order; keys are located scalars."""

    entries: dict[str, tuple[Scalar, Node]] = field(default_factory=dict)

    def to_python(self) -> dict[str, Any]:
        return {key: value.to_python() for key, (_, value) in self.entries.items()}

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key(self, key: str) -> Scalar:
        return self.entries[key][0]

    def __iter__(self) -> Iterator[tuple[Scalar, Node]]:
        return iter(self.entries.values())


def load_documents(source: SourceFile) -> list[Node]:
    """Every document of ``source`` as a located tree; empty documents are left out.

    Raises :class:`WorkflowError` for YAML that does not parse, duplicate keys, keys that
    are not scalars, recursive aliases and tags other than the JSON-like core ones.
    """
    try:
        roots = list(yaml.compose_all(source.text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        index = mark.index if mark is not None else 0
        raise _explained(source, index, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise source.error(f"invalid YAML: {exc}", 0) from exc
    builder = _Builder(source)
    return [builder.build(root) for root in roots if not _empty(root)]


_TEMPLATE_HINT = (
    "a value that starts with {{ must be quoted: YAML reads { as the start of a mapping; "
    "write it in quotes, such as \"{{ get('q') }}\""
)
_TAB_HINT = "a tab in the indentation: YAML indents with spaces only"
_TAG_HINT = (
    "'!' starts a YAML tag; an expression that begins with ! must be quoted, "
    "such as - \"!get('done')\""
)


def _explained(source: SourceFile, index: int, message: str) -> WorkflowError:
    """The error at ``index``, with a hint and the caret moved to the cause when the line
    holds one of the usual mistakes: an unquoted ``{{``, a tab in the indentation."""
    line, _ = source.line_column(index)
    start = source.line_start(line)
    text = source.line_text(line)
    indent = len(text) - len(text.lstrip(" \t"))
    if "\t" in text[:indent]:
        return source.error(f"{message} ({_TAB_HINT})", start + text.index("\t"))
    template = _unquoted_template(text)
    if template is not None:
        return source.error(f"{message} ({_TEMPLATE_HINT})", start + template)
    return source.error(message, index)


def _unquoted_template(line: str) -> int | None:
    """Where a plain (unquoted) value of ``line`` starts with ``{{``, if one does."""
    quote = ""
    for position, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1] in " \t"):
            return None
        elif line.startswith("{{", position):
            before = line[:position].rstrip()
            if not before or before.endswith((":", "-", "[", ",")):
                return position
    return None


def _empty(root: yaml.Node | None) -> bool:
    """True for a document with no content (``---`` followed by nothing)."""
    return root is None or (root.tag == "tag:yaml.org,2002:null" and not root.value)


class _Builder:
    """Turns PyYAML nodes of one file into located nodes."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.constructor = SafeConstructor()
        self.active: set[int] = set()

    def build(self, node: yaml.Node) -> Node:
        if isinstance(node, yaml.ScalarNode):  # holds no node, so no alias loops through it
            return self._scalar(node)
        if id(node) in self.active:
            raise self.source.error("recursive YAML alias", node.start_mark.index)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node)
            assert isinstance(node, yaml.SequenceNode)  # the only other kind of node
            items = [self.build(item) for item in node.value]
            return Sequence(self.source, node.start_mark.index, items)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Scalar:
        start = node.start_mark.index
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            value: Any = node.value  # what PyYAML's constructor returns for a string
        elif tag in _SCALAR_TAGS:
            value = self.constructor.construct_object(node)
        else:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            hint = f" ({_TAG_HINT})" if not shown.startswith("!!") else ""
            raise self.source.error(f"unsupported YAML tag {shown}{hint}", start)
        return Scalar(self.source, start, value, node.style or None, node.end_mark.index)

    def _mapping(self, node: yaml.MappingNode) -> Mapping:
        try:
            self.constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            index = mark.index if mark is not None else node.start_mark.index
            raise self.source.error(f"invalid merge key: {exc.problem}", index) from exc
        entries: dict[str, tuple[Scalar, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                raise _explained(
                    self.source, key_node.start_mark.index, "a mapping key must be a plain value"
                )
            key = Scalar(
                self.source,
                key_node.start_mark.index,
                str(key_node.value),
                key_node.style or None,
                key_node.end_mark.index,
            )
            if key.value in entries:
                first_line = self.source.line_column(entries[key.value][0].start)[0]
                raise key.error(f"duplicate key {key.value!r} (first set on line {first_line})")
            entries[key.value] = (key, self.build(value_node))
        return Mapping(self.source, node.start_mark.index, entries)


def _decode(text: str, start: int, end: int, style: str | None, value: str) -> list[int] | None:
    """The file index of each character of a scalar's value, replaying YAML's scanning."""
    if style in ("|", ">"):
        return _block_indices(text, start, end, style == ">", value)
    if style in ("'", '"'):
        return _flow_indices(text, start + 1, end - 1, style)
    return _flow_indices(text, start, end, None)


def _flow_indices(text: str, begin: int, end: int, quote: str | None) -> list[int]:
    """Indices for plain and quoted scalars: folding, ``''`` and backslash escapes."""
    indices: list[int] = []
    i = begin
    while i < end:
        char = text[i]
        if char in " \t":
            run_end = i
            while run_end < end and text[run_end] in " \t":
                run_end += 1
            if run_end < end and text[run_end] == "\n":
                i = run_end
            else:
                indices.extend(range(i, run_end))
                i = run_end
        elif char == "\n":
            i = _fold(text, i, end, indices, escaped=False)
        elif quote == '"' and char == "\\":
            escape = text[i + 1]
            if escape == "\n":
                i = _fold(text, i + 1, end, indices, escaped=True)
            else:
                indices.append(i)
                i += 2 + _ESCAPE_LENGTHS.get(escape, 0)
        elif quote == "'" and char == "'":
            indices.append(i)
            i += 2
        else:
            indices.append(i)
            i += 1
    return indices


def _fold(text: str, newline: int, end: int, indices: list[int], *, escaped: bool) -> int:
    """Fold the line break at ``newline``: a space, or one newline per empty line after it.

    An escaped line break (``\\`` at the end of a line in a double-quoted scalar) folds to
    nothing. Returns the index of the first character of the next content line.
    """
    breaks: list[int] = []
    i = newline + 1
    while True:
        while i < end and text[i] in " \t":
            i += 1
        if i < end and text[i] == "\n":
            breaks.append(i)
            i += 1
        else:
            break
    if breaks:
        indices.extend(breaks)
    elif not escaped:
        indices.append(newline)
    return i


def _block_indices(text: str, start: int, end: int, folded: bool, value: str) -> list[int] | None:
    """Indices for ``|`` and ``>`` scalars.

    The content indentation is detected from the first non-empty line, as YAML does; an
    explicit indentation indicator counts from the parent's indentation, which the node
    does not record, so every candidate indentation is tried and the one that reproduces
    the value wins.
    """
    header_end = text.find("\n", start)
    if header_end == -1 or header_end >= end:
        return [] if not value else None
    header = text[start + 1 : header_end].split("#", 1)[0].strip()
    chomping = "+" if "+" in header else "-" if "-" in header else ""
    content = header_end + 1
    explicit = any(char.isdigit() for char in header)
    first_indent = _detected_indent(text, content, end)
    candidates = range(1, first_indent + 1) if explicit else (first_indent,)
    for indent in candidates:
        chars, indices = _replay_block(text, content, end, indent, folded, chomping)
        if chars == value:
            return indices
    return None


def _detected_indent(text: str, content: int, end: int) -> int:
    """YAML's auto-detected indentation: the widest leading run of spaces before content."""
    widest = 0
    i = content
    while i < end:
        column = 0
        while i < end and text[i] == " ":
            i += 1
            column += 1
        widest = max(widest, column)
        if i < end and text[i] == "\n":
            i += 1
            continue
        break
    return widest


def _replay_block(
    text: str, content: int, end: int, indent: int, folded: bool, chomping: str
) -> tuple[str, list[int]]:
    """Replay PyYAML's ``scan_block_scalar`` from the first content line, with indices."""
    chars: list[str] = []
    indices: list[int] = []

    def emit(char: str, index: int) -> None:
        chars.append(char)
        indices.append(index)

    def skip_breaks(i: int) -> tuple[int, list[int]]:
        breaks: list[int] = []
        while True:
            column = 0
            while i < end and column < indent and text[i] == " ":
                i += 1
                column += 1
            if i < end and text[i] == "\n":
                breaks.append(i)
                i += 1
            else:
                return i, breaks

    def column_of(i: int) -> int:
        return i - (text.rfind("\n", 0, i) + 1)

    i, breaks = skip_breaks(content)
    line_break = -1
    while i < end and column_of(i) == indent:
        for index in breaks:
            emit("\n", index)
        leading_non_space = text[i] not in " \t"
        line_end = text.find("\n", i, end)
        line_end = end if line_end == -1 else line_end
        for index in range(i, line_end):
            emit(text[index], index)
        line_break = line_end if line_end < end else -1
        i, breaks = skip_breaks(line_end + 1)
        if not (i < end and column_of(i) == indent):
            break
        if folded and leading_non_space and text[i] not in " \t":
            if not breaks:
                emit(" ", line_break)
        else:
            emit("\n", line_break)
    if chomping != "-" and line_break != -1:
        emit("\n", line_break)
    if chomping == "+":
        for index in breaks:
            emit("\n", index)
    return "".join(chars), indices
