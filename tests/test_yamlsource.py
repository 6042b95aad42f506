"""The located YAML tree: values, structure errors, and each scalar style's character map."""

from __future__ import annotations

from typing import Any

import pytest

from kdeps_expr.errors import ExprError, WorkflowError
from kdeps_expr.workflow.yamlsource import Mapping, Scalar, Sequence, SourceFile, load_documents


def _first_scalar(text: str) -> Scalar:
    (document,) = load_documents(SourceFile("f.yaml", text))
    node = document
    while not isinstance(node, Scalar):
        if isinstance(node, Mapping):
            node = next(iter(node))[1]
        else:
            assert isinstance(node, Sequence)
            node = node.items[0]
    return node


def _file_position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


# Each value holds one '@'; its offset in the value must map to the '@' of the file.
STYLE_ROWS = [
    ("plain", "a: x + @\n"),
    ("plain-inner-spaces", "a: x   +   @\n"),
    ("plain-folded", "a: one two\n  three\n  four @\n"),
    ("plain-folded-blank-line", "a: one\n\n  two @\n"),
    ("plain-trailing-spaces-on-folded-line", "a: one   \n    two @\n"),
    ("plain-in-flow-sequence", "a: [sec@nd, other]\n"),
    ("single-quoted", "a: 'x @'\n"),
    ("single-quoted-doubled-quote", "a: 'it''s ''q'' @'\n"),
    ("single-quoted-folded", "a: 'one\n    two\n\n    three @'\n"),
    ("double-quoted", 'a: "x @"\n'),
    ("double-quoted-escaped-quote", 'a: "say \\"hi\\" @"\n'),
    ("double-quoted-escaped-backslash", 'a: "a\\\\b @"\n'),
    ("double-quoted-newline-escape", 'a: "a\\nb\\tc @"\n'),
    ("double-quoted-hex-escapes", 'a: "\\x41\\u00e9\\U0001F600 @"\n'),
    ("double-quoted-folded", 'a: "one\n   two @"\n'),
    ("double-quoted-escaped-line-break", 'a: "one\\\n   two @"\n'),
    ("double-quoted-escaped-space-before-break", 'a: "one\\ \n   two @"\n'),
    ("literal", "a: |\n  line one\n  line @\n"),
    ("literal-more-indented", "a: |\n  one\n    two @\n"),
    ("literal-blank-lines", "a: |\n  one\n\n\n  two @\n"),
    ("literal-strip", "a: |-\n  one\n  two @\n\n"),
    ("literal-keep", "a: |+\n  one @\n\n\n"),
    ("literal-comment-header", "a: |  # note\n  one @\n"),
    ("literal-explicit-indent", "a: |2\n    indented\n  base @\n"),
    ("literal-in-sequence", "a:\n  - |\n    x\n    y @\n"),
    ("folded", "a: >\n  one\n  two @\n"),
    ("folded-paragraphs", "a: >\n  one\n\n  two\n    more\n  three @\n"),
    ("folded-strip", "a: >-\n  one\n  two @\n"),
]


@pytest.mark.parametrize(
    ("text",), [(text,) for _, text in STYLE_ROWS], ids=[r[0] for r in STYLE_ROWS]
)
def test_each_style_maps_value_offsets_to_the_file_character(text: str) -> None:
    scalar = _first_scalar(text)
    assert isinstance(scalar.value, str)
    assert scalar.position(scalar.value.index("@")) == _file_position(text, text.index("@"))


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("a: abc\n", 3, (1, 7)),
        ("a: 'abc'\n", 3, (1, 8)),
        ("a: |\n  abc\n", None, (1, 4)),
        ("a: ''\n", 0, (1, 5)),
        ("a: 12\n", 1, (1, 4)),
    ],
    ids=["past-the-end-plain", "past-the-end-quoted", "no-offset", "empty-quoted", "not-a-string"],
)
def test_edge_offsets(text: str, offset: int | None, expected: tuple[int, int]) -> None:
    assert _first_scalar(text).position(offset) == expected


def test_place_renders_the_file_line_and_caret() -> None:
    text = 'run:\n  expr:\n    - "set(\'a\', \\"x\\" + @)"\n'
    scalar = _first_scalar(text)
    error = scalar.place(ExprError("unexpected '@'"), scalar.value.index("@"))
    assert str(error) == (
        "f.yaml:3:25: unexpected '@'\n"
        ' |     - "set(\'a\', \\"x\\" + @)"\n'
        " | ........................^"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: [x, 'y']\nc: {d: null, e: true, f: 1.5}\n",
            {"a": 1, "b": ["x", "y"], "c": {"d": None, "e": True, "f": 1.5}},
        ),
        ("when: 2024-01-01\n", {"when": "2024-01-01"}),
        (
            "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
            {"base": {"x": 1}, "derived": {"x": 1, "y": 2}},
        ),
        ("1: one\nyes: two\n", {"1": "one", "yes": "two"}),
    ],
    ids=["json-like", "timestamp-stays-text", "merge-key", "keys-are-their-text"],
)
def test_values(text: str, expected: Any) -> None:
    (document,) = load_documents(SourceFile("f.yaml", text))
    assert document.to_python() == expected


def test_documents_and_empty_documents() -> None:
    documents = load_documents(SourceFile("f.yaml", "a: 1\n---\n---\nb: 2\n"))
    assert [document.to_python() for document in documents] == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: 2\na: 3\n",
            "f.yaml:3:1: duplicate key 'a' (first set on line 1)\n | a: 3\n | ^",
        ),
        ("a: [1\n", "f.yaml:2:1: invalid YAML: did not find expected ',' or ']'\n | \n | ^"),
        (
            "a: !!binary aGk=\n",
            "f.yaml:1:4: unsupported YAML tag !!binary\n | a: !!binary aGk=\n | ...^",
        ),
        ("? [1]\n: x\n", "f.yaml:1:3: a mapping key must be a plain value\n | ? [1]\n | ..^"),
        ("a: &x [*x]\n", "f.yaml:1:4: recursive YAML alias\n | a: &x [*x]\n | ...^"),
    ],
    ids=["duplicate-key", "syntax", "tag", "complex-key", "recursive-alias"],
)
def test_structure_errors(text: str, expected: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        load_documents(SourceFile("f.yaml", text))
    assert str(caught.value) == expected
