"""Templates in inline python scripts: each inserted value is written as Python data.

KDeps splices a template's text into ``python.script`` raw: ``data = {{ get('x') }}``
gets Go's rendering of a map (not Python), and ``q = "{{ get('q') }}"`` lets a request
value close the string and run code. Here each block is written for where it stands,
as CPython's own tokenizer reads the script (the blocks replaced by placeholder names):

* in code, a Python literal of the value: ``data = {{ get('x') }}`` gives
  ``data = {'a': 1, 'ok': True, 'none': None}``, a string gives ``'text'``;
* inside a string literal, the value's text escaped for that literal (backslashes,
  its quotes, line breaks, ``{``/``}`` in f-strings, bytes in ``b''``), so
  ``text = \"\"\"{{ get('text') }}\"\"\"`` holds exactly the request's text;
* in a comment, the text with its line breaks turned into spaces.

Refused when the workflow loads, at the block: inside a raw string (``r'…'`` has no
escapes), inside an f-string's ``{…}`` field, glued to a name or number
(``x{{n}}``), or in a script the tokenizer cannot read. ``check`` warns wherever a
template is spliced into a script: passing values as ``args`` (``sys.argv``) is plainer.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from typing import Any

from ..language.engine import Expression, Template
from .failures import misplaced_block

_MARK = "__kdeps_block_{}__"

CODE = "code"
STRING = "string"
COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a block stands: ``kind`` and, in a string, its quote and prefix letters."""

    kind: str
    quote: str = ""
    prefix: str = ""


def python_literal(value: Any) -> str:
    """A kdeps value as Python source: ``None``, ``True``, ``2.5``, ``'a'``, ``[…]``, ``{…}``."""
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(str(value))


def escape_string(text: str, place: Place) -> str:
    """``text`` written inside the string literal at ``place`` so that it reads back as itself."""
    quote = place.quote[0]
    prefix = place.prefix.lower()
    if "b" in prefix:
        return "".join(_byte(byte, quote) for byte in text.encode("utf-8", "surrogatepass"))
    out = []
    for char in text:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char in "{}" and "f" in prefix:
            out.append(char * 2)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def _byte(byte: int, quote: str) -> str:
    char = chr(byte)
    if char == "\\" or char == quote:
        return "\\" + char
    if 32 <= byte < 127:
        return char
    return f"\\x{byte:02x}"


def comment_text(text: str) -> str:
    """``text`` inside a comment: line breaks (and NUL) become spaces, so it stays one."""
    return text.replace("\r", " ").replace("\n", " ").replace("\0", " ")


class PythonScript:
    """An inline-script template (``python.script``), read once.

    Building one finds where every block stands and raises :class:`WorkflowError` at a
    refused block (``offset`` is its opening delimiter); :meth:`render` gives the script.
    """

    __slots__ = ("places", "template")

    def __init__(self, template: Template) -> None:
        self.template = template
        blocks = {
            position: part
            for position, part in enumerate(template.parts)
            if isinstance(part, Expression)
        }
        self.places: dict[int, Place] = {}
        if not blocks:
            return
        marks = {_MARK.format(position): position for position in blocks}
        source = "".join(
            part if isinstance(part, str) else _MARK.format(position)
            for position, part in enumerate(template.parts)
        )
        found = _places(source, marks)
        for mark, position in marks.items():
            place = found.get(mark)
            if isinstance(place, str) or place is None:
                why = place or "the script around it cannot be read as Python"
                raise misplaced_block(template, blocks[position], "python script", why)
            self.places[position] = place

    def render(self, context: Any = None) -> str:
        """The script with each block's value written as Python data for its place."""

        def escape(position: int, value: object, text: str) -> str:
            place = self.places[position]
            if place.kind == CODE:
                return python_literal(value)
            if place.kind == STRING:
                return escape_string(text, place)
            return comment_text(text)

        if not self.places:
            return str(self.template.render(context))
        return str(self.template.render(context, escape=escape))


def _places(source: str, marks: dict[str, int]) -> dict[str, Place | str]:
    """Each mark's :class:`Place`, or the reason (a string) it is refused there."""
    found: dict[str, Place | str] = {}
    fstring: list[tuple[str, str]] = []  # Python 3.12+: the open f-strings' prefix and quote
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = tokenize.tok_name[token.type]
            if kind == "FSTRING_START":
                prefix = token.string.rstrip("'\"")
                fstring.append((prefix, token.string[len(prefix) :]))
            elif kind == "FSTRING_END" and fstring:
                fstring.pop()
            for mark in marks:
                if mark not in token.string:
                    continue
                found[mark] = _place(kind, token.string, mark, fstring)
    except (tokenize.TokenError, SyntaxError) as exc:
        return dict.fromkeys(marks, f"the script cannot be read as Python: {exc.args[0]}")
    return found


def _place(kind: str, text: str, mark: str, fstring: list[tuple[str, str]]) -> Place | str:
    if kind == "COMMENT":
        return Place(COMMENT)
    if kind == "NAME":
        if fstring:
            return "it is inside an f-string's {…} field; compute the value in code first"
        return Place(CODE) if text == mark else "it is glued to a name or number"
    if kind == "FSTRING_MIDDLE":
        prefix, quote = fstring[-1]
        return _string_place(prefix, quote)
    if kind == "STRING":
        prefix = text[: len(text) - len(text.lstrip("bBrRuUfF"))]
        body = text[len(prefix) :]
        quote = body[:3] if body[:3] in ("'''", '"""') else body[:1]
        if "f" in prefix.lower() and _in_field(body, body.index(mark)):
            return "it is inside an f-string's {…} field; compute the value in code first"
        return _string_place(prefix, quote)
    return "it is glued to a name or number"


def _string_place(prefix: str, quote: str) -> Place | str:
    if "r" in prefix.lower():
        return "a raw string (r'…') has no escapes; use a plain string"
    return Place(STRING, quote, prefix)


def _in_field(body: str, offset: int) -> bool:
    """True when ``offset`` of an f-string's text lies inside a ``{…}`` replacement field."""
    depth = 0
    i = 0
    while i < offset:
        pair = body[i : i + 2]
        if depth == 0 and pair in ("{{", "}}"):
            i += 2
            continue
        if body[i] == "{":
            depth += 1
        elif body[i] == "}" and depth:
            depth -= 1
        i += 1
    return depth > 0
