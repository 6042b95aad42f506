"""Templates in shell scripts: each inserted value reaches the script as data, never as syntax.

KDeps splices a template's values into ``exec.command`` as raw text, so a request value
``; rm -rf ~`` runs ``rm``. Here a value never enters the script's text at all. Each block
becomes a reference to an environment variable of the process, ``_KDEPS_V1``, ``_KDEPS_V2``…
in block order, and the value is that variable's content. The shell expands a variable
once and never reads its content as syntax, so whatever the value holds stays one piece
of data, whatever the script around it looks like.

The reference is written for where the block stands, so that the scripts KDeps' own
examples write keep working and receive exactly the value (a small lexer over the
template's literal text finds the place; values do not change it, since they are never
text of the script):

=============================  ==========================  ===========================
where the block is             written                     example
=============================  ==========================  ===========================
unquoted                       ``"${_KDEPS_V1}"``          ``echo {{q}}``: one argument
inside ``"…"``                 ``${_KDEPS_V1}``            ``cp "{{path}}" /tmp/``
inside ``'…'``                 ``'"${_KDEPS_V1}"'``        ``-d '{"q": "{{q}}"}'``
inside ``$'…'``                ``'"${_KDEPS_V1}"$'``       (bash's ANSI-C quotes)
an unquoted here-document      ``${_KDEPS_V1}``            ``cat <<EOF`` … ``EOF``
a comment                      nothing                     ``# {{q}}``
=============================  ==========================  ===========================

Refused when the workflow loads, with the block's position: a block inside ``$((…))``,
``((…))`` or ``${…}`` (arithmetic and array subscripts evaluate text as expressions, and
bash runs the command substitutions a subscript holds), inside a quoted here-document
(``<<'EOF'``: nothing expands there), in a here-document's delimiter, and right after
``$`` (``${{x}}`` would read as a variable name). A script that runs its own data
(``eval``, ``sh -c "$1"``) runs it: no quoting can prevent that, so do not write one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..language.engine import Template
from .failures import misplaced_block

PREFIX = "_KDEPS_V"
"""Names of the variables that carry values: ``_KDEPS_V1``, ``_KDEPS_V2``…"""

# contexts a block can stand in
CODE = "code"
DOUBLE = "double"
SINGLE = "single"
ANSI = "ansi"
HEREDOC = "heredoc"
COMMENT = "comment"

_META = set(" \t\n;&|<>()")
_WORD_BREAK = set(" \t\n;&|()")


def reference(context: str, name: str) -> str:
    """What a block standing in ``context`` writes into the script for variable ``name``."""
    if context == CODE:
        return f'"${{{name}}}"'
    if context in (DOUBLE, HEREDOC):
        return f"${{{name}}}"
    if context == SINGLE:
        return f"'\"${{{name}}}\"'"
    if context == ANSI:
        return f"'\"${{{name}}}\"$'"
    return ""  # COMMENT


@dataclass
class _Frame:
    """One level of nesting: the top level, ``$(…)``, a backtick, ``${…}``, ``$((…))``, a quote."""

    kind: str  # "code", "cmdsub", "backtick", "param", "arith", "double", "single", "ansi"
    depth: int = 0  # open parentheses (cmdsub, arith) or braces (param) inside the frame


@dataclass
class _Heredoc:
    delimiter: str
    quoted: bool
    strip_tabs: bool


@dataclass
class _Lexer:
    """The state between literal pieces; :meth:`feed` reads one, :meth:`context` says where
    a block placed at the current point stands."""

    stack: list[_Frame] = field(default_factory=lambda: [_Frame("code")])
    word_start: bool = True
    comment: bool = False
    pending: list[_Heredoc] = field(default_factory=list)
    body: _Heredoc | None = None
    line: str = ""  # text of the current here-document line so far
    line_has_block: bool = False
    after_dollar: bool = False
    in_delimiter: bool = False  # between '<<' and the end of its delimiter word

    def context(self) -> str | None:
        """The context of a block placed here, or ``None`` when a block is refused here."""
        if self.body is not None:
            return None if self.body.quoted else HEREDOC
        if self.comment:
            return COMMENT
        if self.after_dollar or self.in_delimiter:
            return None
        if self._evaluating() is not None:
            return None
        kind = self.stack[-1].kind
        if kind in ("double", "single", "ansi"):
            return {"double": DOUBLE, "single": SINGLE, "ansi": ANSI}[kind]
        return CODE

    def refusal(self) -> str:
        """Why a block is refused at the current point."""
        if self.body is not None:
            return "inside a quoted here-document nothing expands; write <<EOF, not <<'EOF'"
        if self.after_dollar:
            return "right after '$' it would be read as a variable name"
        if self.in_delimiter:
            return "it cannot be a here-document's delimiter"
        if self._evaluating() == "param":
            return (
                "inside ${…} bash evaluates array subscripts; assign the value to a variable first"
            )
        return "arithmetic evaluates its operands' text; pass the value to a command instead"

    def _evaluating(self) -> str | None:
        """``arith`` or ``param`` when the point is inside ``$((…))`` or ``${…}``, at any depth."""
        return next((f.kind for f in self.stack if f.kind in ("arith", "param")), None)

    def block(self) -> None:
        """A block was placed at the current point: it is a word part, never syntax."""
        self.word_start = False
        if self.body is not None:
            self.line_has_block = True

    def feed(self, text: str) -> None:
        """Read a literal piece of the script."""
        i = 0
        while i < len(text):
            i = self._step(text, i)

    def _step(self, text: str, i: int) -> int:
        char = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        self.after_dollar = False
        if self.body is not None:
            return self._body(text, i)
        if self.comment:
            if char == "\n":
                self.comment = False
                return self._newline(i)
            return i + 1
        if self.in_delimiter:
            return self._delimiter(text, i)
        kind = self.stack[-1].kind
        if kind == "single":
            if char == "'":
                self.stack.pop()
            return i + 1
        if kind == "ansi":
            if char == "\\":
                return i + 2
            if char == "'":
                self.stack.pop()
            return i + 1
        if kind == "double":
            if char == "\\":
                return i + 2
            if char == '"':
                self.stack.pop()
                return i + 1
            if char == "`":
                self.stack.append(_Frame("backtick"))
                return i + 1
            if char == "$":
                return self._dollar(text, i)
            return i + 1
        # code-like frames: code, cmdsub, backtick, param, arith
        frame = self.stack[-1]
        if char == "\\":
            self.word_start = False
            return i + 2
        if char == "'":
            self.stack.append(_Frame("single"))
            self.word_start = False
            return i + 1
        if char == '"':
            self.stack.append(_Frame("double"))
            self.word_start = False
            return i + 1
        if char == "`":
            if kind == "backtick":
                self.stack.pop()
            else:
                self.stack.append(_Frame("backtick"))
            self.word_start = False
            return i + 1
        if char == "$":
            self.word_start = False
            return self._dollar(text, i)
        if kind == "param":
            if char == "{":
                frame.depth += 1
            elif char == "}":
                if frame.depth == 0:
                    self.stack.pop()
                    return i + 1
                frame.depth -= 1
            return i + 1
        if char == "(":
            if kind in ("cmdsub", "arith"):
                frame.depth += 1
            elif self.word_start and nxt == "(":
                self.stack.append(_Frame("arith"))
                return i + 2
            self.word_start = True
            return i + 1
        if char == ")":
            if kind == "arith" and frame.depth == 0 and nxt == ")":
                self.stack.pop()
                return i + 2
            if kind in ("cmdsub", "arith"):
                if frame.depth == 0:
                    self.stack.pop()
                    self.word_start = False
                    return i + 1
                frame.depth -= 1
            self.word_start = True
            return i + 1
        if char == "#" and self.word_start and kind != "arith":
            self.comment = True
            return i + 1
        if char == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            strip = text.startswith("<<-", i)
            self.pending.append(_Heredoc("", False, strip))
            self.in_delimiter = True
            self.word_start = True
            return i + (3 if strip else 2)
        if char == "\n":
            return self._newline(i)
        self.word_start = char in _META
        return i + 1

    def _dollar(self, text: str, i: int) -> int:
        if text.startswith("$((", i):
            self.stack.append(_Frame("arith"))
            return i + 3
        if text.startswith("$(", i):
            self.stack.append(_Frame("cmdsub"))
            self.word_start = True
            return i + 2
        if text.startswith("${", i):
            self.stack.append(_Frame("param"))
            return i + 2
        if text.startswith("$'", i) and self.stack[-1].kind != "double":
            self.stack.append(_Frame("ansi"))
            return i + 2
        self.after_dollar = i + 1 == len(text)
        return i + 1

    def _delimiter(self, text: str, i: int) -> int:
        """Read the word after ``<<``: quoting anywhere in it makes the body quoted."""
        heredoc = self.pending[-1]
        char = text[i]
        if char in " \t" and not heredoc.delimiter and not heredoc.quoted:
            return i + 1
        if char in _META:
            self.in_delimiter = False
            return i  # read again as code
        if char in "'\"":
            end = text.find(char, i + 1)
            end = len(text) if end == -1 else end
            heredoc.delimiter += text[i + 1 : end]
            heredoc.quoted = True
            return end + 1
        if char == "\\":
            heredoc.delimiter += text[i + 1 : i + 2]
            heredoc.quoted = True
            return i + 2
        heredoc.delimiter += char
        return i + 1

    def _newline(self, i: int) -> int:
        self.word_start = True
        if self.pending and self.stack[-1].kind in ("code", "cmdsub", "backtick"):
            self.body = self.pending.pop(0)
            self.line = ""
            self.line_has_block = False
        return i + 1

    def _body(self, text: str, i: int) -> int:
        """Inside a here-document: collect the line; a line equal to the delimiter ends it."""
        body = self.body
        assert body is not None
        char = text[i]
        if char != "\n":
            if char == "\\" and not body.quoted and i + 1 < len(text):
                self.line += text[i : i + 2]
                return i + 2
            if char == "$" and not body.quoted:
                self.after_dollar = i + 1 == len(text)
            self.line += char
            return i + 1
        line = self.line.lstrip("\t") if body.strip_tabs else self.line
        if line == body.delimiter and not self.line_has_block:
            self.body = self.pending.pop(0) if self.pending else None
        self.line = ""
        self.line_has_block = False
        return i + 1


class ShellScript:
    """A shell-script template (``exec.command``, or the script after ``sh -c``), read once.

    Building one checks where every block stands and raises :class:`WorkflowError` at a
    refused block (``offset`` is its opening delimiter). :meth:`render` gives the script
    to run and the variables that carry the values.
    """

    __slots__ = ("contexts", "names", "template")

    def __init__(self, template: Template) -> None:
        self.template = template
        self.contexts: dict[int, str] = {}
        self.names: dict[int, str] = {}
        lexer = _Lexer()
        for position, part in enumerate(template.parts):
            if isinstance(part, str):
                lexer.feed(part)
                continue
            context = lexer.context()
            if context is None:
                raise misplaced_block(template, part, "shell script", lexer.refusal())
            self.contexts[position] = context
            self.names[position] = f"{PREFIX}{len(self.names) + 1}"
            lexer.block()

    def render(self, context: Any = None) -> tuple[str, dict[str, str]]:
        """The script to run and its ``_KDEPS_V<n>`` variables (values rendered as text)."""
        variables: dict[str, str] = {}

        def escape(position: int, value: object, text: str) -> str:
            name = self.names[position]
            variables[name] = text
            return reference(self.contexts[position], name)

        script = self.template.render(context, escape=escape)
        return script, variables
