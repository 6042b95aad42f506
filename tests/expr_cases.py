"""Shared tables of the expression tests: value rows of SPEC §1–§3 and one fixed context.

Every row is ``pytest.param(source, expected, id=...)``: ``source`` evaluated in a fresh
:func:`make_context` gives ``expected``, compared with :func:`assert_same` (types and map
order included, so ``1`` is not ``1.0`` nor ``True``). ``test_values``, ``test_syntax`` and
``test_functions`` run their own table; ``test_roundtrip`` runs all of them through
``str(node)`` and back.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from kdeps_expr import Context, Request, SessionState, WorkflowInfo

REQUEST_ID = "req-0001"
SESSION_ID = "sess-abc"
TIMESTAMP = "2026-01-02T03:04:05Z"


def make_context() -> Context:
    """One request with a key in every source, overlaps to show which source wins.

    ``both`` is in memory and outputs; ``qb`` in query, body and headers; ``q`` is ``''`` in
    the query and set in the body; ``fetch`` and ``skipped`` are actionIds (``skipped`` has
    no output) that memory and the query try to shadow; ``qonly`` is also in the session.
    """
    request = Request(
        method="POST",
        path="/api/cart",
        query={
            "q": "",
            "qonly": "from query",
            "qb": "query wins",
            "qnil": None,
            "skipped": "query shadow",
            "both": "query loses",
            "language": "",
            "qty": "7",
        },
        body={
            "q": "body hidden",
            "bonly": "from body",
            "qb": "body loses",
            "n": 1,
            "item": {"name": "pen", "price": 2},
        },
        headers={"X-Api-Key": "secret", "QB": "header loses", "Accept": "text/plain"},
        ip="10.0.0.7",
        request_id=REQUEST_ID,
        timestamp=TIMESTAMP,
    )
    session = SessionState(
        {
            "visits": 2,
            "cart": [{"name": "cup", "price": 2}, {"name": "mug", "price": 3.5}],
            "user": "ann",
            "blank": "",
            "qonly": "from session",
        },
        SESSION_ID,
    )
    return Context(
        request,
        session=session,
        memory={
            "mem": "from memory",
            "both": "memory wins",
            "blank": "",
            "nothing": None,
            "skipped": "memory shadow",
            "count": 0,
        },
        outputs={"fetch": {"status": 200, "items": [1, 2]}, "both": "output loses"},
        action_ids=frozenset({"fetch", "skipped"}),
        action_id="cart",
        workflow=WorkflowInfo(name="shop", version="1.2.0"),
    )


def assert_same(actual: Any, expected: Any) -> None:
    """Equal values of the very same types, maps in the same key order."""
    assert _same(actual, expected), f"{actual!r} is not {expected!r}"


def _same(actual: Any, expected: Any) -> bool:
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, dict):
        return list(actual) == list(expected) and all(
            _same(actual[key], expected[key]) for key in actual
        )
    return bool(actual == expected)


def row(source: str, expected: Any, name: str) -> Any:
    """A table row named ``name``: ``source`` gives ``expected``."""
    return pytest.param(source, expected, id=name)


# ---- SPEC §1: values ----------------------------------------------------------------------

VALUES = [
    # nil is the identity of +
    row("nil + 1", 1, "nil-plus-int"),
    row("1 + nil", 1, "int-plus-nil"),
    row("nil + 1.5", 1.5, "nil-plus-float"),
    row("nil + 'a'", "a", "nil-plus-string"),
    row("'a' + nil", "a", "string-plus-nil"),
    row("nil + [1]", [1], "nil-plus-list"),
    row("[1] + nil", [1], "list-plus-nil"),
    row("nil + {'a': 1}", {"a": 1}, "nil-plus-map"),
    row("nil + nil", None, "nil-plus-nil"),
    row("get('visits', 'session') + 1", 3, "visits-plus-one"),
    row("get('newcounter', 'session') + 1", 1, "first-visit-plus-one"),
    row("get('nocart', 'session') + [get('item')]", [{"name": "pen", "price": 2}], "first-cart"),
    row(
        "get('cart', 'session') + [get('item')]",
        [{"name": "cup", "price": 2}, {"name": "mug", "price": 3.5}, {"name": "pen", "price": 2}],
        "cart-append",
    ),
    # + on each pair of types
    row("1 + 2", 3, "int-plus-int"),
    row("1 + 2.0", 3.0, "int-plus-float"),
    row("0.1 + 0.2", 0.30000000000000004, "float-plus-float"),
    row("'ab' + 'cd'", "abcd", "string-concat"),
    row("[1] + [2, 3]", [1, 2, 3], "list-concat"),
    row("[] + []", [], "empty-list-concat"),
    row("{'a': 1, 'b': 2} + {'b': 3, 'c': 4}", {"a": 1, "b": 3, "c": 4}, "map-merge-right-wins"),
    row("{'z': 1} + {'a': 2}", {"z": 1, "a": 2}, "map-merge-keeps-order"),
    row("{} + {}", {}, "empty-map-merge"),
    # division, modulo, power
    row("7 / 2", 3.5, "divide-gives-float"),
    row("6 / 2", 3.0, "divide-exact-still-float"),
    row("-7 / 2", -3.5, "divide-negative"),
    row("1 / 4.0", 0.25, "divide-by-float"),
    row("7 % 3", 1, "modulo"),
    row("-7 % 3", -1, "modulo-sign-of-dividend"),
    row("7 % -3", 1, "modulo-negative-divisor"),
    row("-7 % -3", -1, "modulo-both-negative"),
    row("6 % 3", 0, "modulo-exact"),
    row("2 ** 3", 8, "power-int"),
    row("2 ^ 3", 8, "caret-is-power"),
    row("2 ** 0", 1, "power-zero"),
    row("0 ** 0", 1, "zero-power-zero"),
    row("2 ** -1", 0.5, "power-negative-exponent-float"),
    row("2.0 ** 3", 8.0, "power-float-base"),
    row("4 ** 0.5", 2.0, "power-float-exponent"),
    row("-2 ** 2", -4, "power-binds-tighter-than-minus"),
    row("(-2) ** 2", 4, "power-of-negative"),
    # ==, != never raise
    row("nil == ''", True, "nil-equals-empty-string"),
    row("'' == nil", True, "empty-string-equals-nil"),
    row("nil != ''", False, "nil-not-unequal-empty"),
    row("get('username') != ''", False, "missing-field-equals-empty"),
    row("nil == nil", True, "nil-equals-nil"),
    row("nil == 0", False, "nil-not-zero"),
    row("nil == false", False, "nil-not-false"),
    row("nil == []", False, "nil-not-empty-list"),
    row("1 == 1.0", True, "int-equals-float"),
    row("1 != 1.0", False, "int-not-unequal-float"),
    row("'1' == 1", False, "string-not-int"),
    row("true == 1", False, "bool-not-int"),
    row("0 == false", False, "zero-not-false"),
    row("[1, 'a'] == [1, 'a']", True, "lists-equal"),
    row("[1] == [1.0]", True, "lists-equal-numbers"),
    row("[1, 2] == [2, 1]", False, "lists-ordered"),
    row("{'a': 1, 'b': 2} == {'b': 2, 'a': 1}", True, "maps-equal-any-order"),
    row("{'a': nil} == {}", False, "map-nil-entry-not-missing"),
    row("{'a': 1} != [1]", True, "map-unequal-list"),
    # <, <=, >, >= on numbers and on strings
    row("1 < 2", True, "less"),
    row("2 <= 2.0", True, "less-equal-mixed-numbers"),
    row("2.5 > 2", True, "greater-float-int"),
    row("3 >= 4", False, "greater-equal"),
    row("'a' < 'b'", True, "strings-compare"),
    row("'b' >= 'abc'", True, "strings-compare-lexicographic"),
    # truthiness
    row("!nil", True, "nil-falsy"),
    row("!false", True, "false-falsy"),
    row("!0", True, "zero-falsy"),
    row("!0.0", True, "zero-float-falsy"),
    row("!''", True, "empty-string-falsy"),
    row("![]", True, "empty-list-falsy"),
    row("!{}", True, "empty-map-falsy"),
    row("!true", False, "true-truthy"),
    row("!1", False, "one-truthy"),
    row("!-1", False, "negative-truthy"),
    row("!0.1", False, "float-truthy"),
    row("!'0'", False, "string-zero-truthy"),
    row("!' '", False, "space-truthy"),
    row("![0]", False, "list-of-zero-truthy"),
    row("!{'a': nil}", False, "map-with-nil-truthy"),
    row("[] ? 'yes' : 'no'", "no", "ternary-uses-truthiness"),
    row("'x' ? 'yes' : 'no'", "yes", "ternary-truthy-string"),
    row("nil ? 'yes' : 'no'", "no", "ternary-nil"),
    # !, &&, || return booleans and short-circuit
    row("1 && 'x'", True, "and-returns-bool"),
    row("'x' && 0", False, "and-false-bool"),
    row("0 || ''", False, "or-returns-bool"),
    row("'a' || 0", True, "or-true-bool"),
    row("false && 1 / 0", False, "and-short-circuits"),
    row("true || 1 / 0", True, "or-short-circuits"),
    row("not 0", True, "not-word"),
    row("0 and 1", False, "and-word"),
    row("0 or 2", True, "or-word"),
    # ?? and ?:
    row("nil ?? 1", 1, "coalesce-nil"),
    row("'' ?? 1", 1, "coalesce-empty-string"),
    row("0 ?? 1", 0, "coalesce-keeps-zero"),
    row("false ?? 1", False, "coalesce-keeps-false"),
    row("[] ?? 1", [], "coalesce-keeps-empty-list"),
    row("'x' ?? 1", "x", "coalesce-keeps-value"),
    row("nil ?? nil", None, "coalesce-both-nil"),
    row("nil ?? '' ?? 3", 3, "coalesce-chain"),
    row("1 ?? (1 / 0)", 1, "coalesce-short-circuits"),
    row("3 ?: 1 + 1", 3, "elvis-truthy"),
    row("0 ?: 5", 5, "elvis-zero"),
    row("'' ?: 'x'", "x", "elvis-empty-string"),
    row("[] ?: [1]", [1], "elvis-empty-list"),
    row("nil ?: nil", None, "elvis-both-nil"),
    row("'a' ?: 1 / 0", "a", "elvis-short-circuits"),
    # ?? binds tighter than every other binary operator
    row("nil ?? 0 + 1", 1, "coalesce-before-plus"),
    row("1 ?? 2 + 3", 4, "coalesce-then-plus"),
    row("get('visits', 'session') ?? 0 + 1", 3, "seed-visits-coalesce"),
    row("get('none', 'session') ?? 0 + 1", 1, "seed-first-visit-coalesce"),
    row("2 * nil ?? 3", 6, "coalesce-before-times"),
    row("2 ** nil ?? 3", 8, "coalesce-before-power"),
    row("-nil ?? 1", -1, "coalesce-before-unary-minus"),
    row("[1] ?? [2] + [3]", [1, 3], "coalesce-before-list-plus"),
    row("nil ?? 1 == 1", True, "coalesce-before-equals"),
    # member access, indexing and slicing on nil, missing keys
    row("nil.a", None, "member-of-nil"),
    row("nil?.a", None, "optional-member-of-nil"),
    row("nil.a.b", None, "member-chain-of-nil"),
    row("nil[0]", None, "index-of-nil"),
    row("nil['k']", None, "key-of-nil"),
    row("nil[1:2]", None, "slice-of-nil"),
    row("{}.missing", None, "missing-key"),
    row("{'a': 1}['b']", None, "missing-key-by-index"),
    row("get('nope').field", None, "member-of-missing-get"),
    row("get('nope')?.field", None, "optional-member-of-missing-get"),
]


# ---- SPEC §2: syntax ----------------------------------------------------------------------

SYNTAX = [
    # comments
    row("1 // a comment", 1, "line-comment"),
    row("1 /* a comment */ + 2", 3, "block-comment"),
    row("/* one\ntwo */ 1", 1, "multi-line-block-comment"),
    row("1 // first\n + 2", 3, "line-comment-ends-at-newline"),
    row("'//' + '/*x*/'", "///*x*/", "comment-marks-in-strings"),
    row("4 / 2", 2.0, "single-slash-divides"),
    # literals
    row("nil", None, "nil"),
    row("null", None, "null-alias"),
    row("true", True, "true"),
    row("false", False, "false"),
    row("42", 42, "int"),
    row("0x2A", 42, "hex"),
    row("0Xff", 255, "hex-upper-x"),
    row("1_000", 1000, "underscore"),
    row("0xFF_FF", 65535, "hex-underscore"),
    row("0.5", 0.5, "float"),
    row(".5", 0.5, "float-leading-dot"),
    row("1e3", 1000.0, "exponent-is-float"),
    row("1E-2", 0.01, "negative-exponent"),
    row("1.5e2", 150.0, "fraction-and-exponent"),
    row("1_000.5", 1000.5, "float-underscore"),
    row("'single'", "single", "single-quoted"),
    row('"double"', "double", "double-quoted"),
    row(r"'a\nb'", "a\nb", "escape-newline"),
    row(r"'a\tb'", "a\tb", "escape-tab"),
    row(r"'a\\b'", "a\\b", "escape-backslash"),
    row(r"'it\'s'", "it's", "escape-single-quote"),
    row(r'"say \"hi\""', 'say "hi"', "escape-double-quote"),
    row('"it\'s"', "it's", "single-quote-in-double"),
    row("'say \"hi\"'", 'say "hi"', "double-quote-in-single"),
    row(r"'\u00e9t\u00E9'", "été", "escape-unicode"),
    row(r"'\u0041'", "A", "escape-unicode-ascii"),
    row("'héllo ✓'", "héllo ✓", "non-ascii-text"),
    row("''", "", "empty-string"),
    row("[1, 'a']", [1, "a"], "list"),
    row("[]", [], "empty-list"),
    row("[1, 2,]", [1, 2], "list-trailing-comma"),
    row("[[1], [2, [3]]]", [[1], [2, [3]]], "nested-lists"),
    row("{a: 1, 'b': 2}", {"a": 1, "b": 2}, "map"),
    row('{"b c": [1]}', {"b c": [1]}, "map-double-quoted-key"),
    row("{}", {}, "empty-map"),
    row("{a: 1,}", {"a": 1}, "map-trailing-comma"),
    row("{z: 1, a: 2, m: 3}", {"z": 1, "a": 2, "m": 3}, "map-keeps-order"),
    row("{a: {b: [1, {c: nil}]}}", {"a": {"b": [1, {"c": None}]}}, "nested-map"),
    row("{a: 1 + 1, b: 'x' + 'y'}", {"a": 2, "b": "xy"}, "map-values-are-expressions"),
    # level 1: ternary and ?:, right associative, lowest of all
    row("true ? 1 : 2 + 3", 1, "ternary-then"),
    row("false ? 1 : 2 + 3", 5, "ternary-else-takes-sum"),
    row("1 + 1 == 2 ? 'y' : 'n'", "y", "ternary-below-comparison"),
    row("false ? 1 : true ? 2 : 3", 2, "ternary-right-associative"),
    row("true ? false ? 1 : 2 : 3", 2, "ternary-nested-then"),
    row("0 ?: 0 ?: 3", 3, "elvis-right-associative"),
    row("true || false ? 'a' : 'b'", "a", "ternary-below-or"),
    row("nil ?: 1 ? 'a' : 'b'", "a", "elvis-then-ternary"),
    # level 2 and 3: || below &&
    row("true || false && false", True, "and-binds-tighter-than-or"),
    row("false && true || true", True, "and-then-or"),
    row("false or true and true", True, "word-operators"),
    # level 4: comparisons below + and -
    row("1 == 1 && 2 == 2", True, "comparison-tighter-than-and"),
    row("1 + 2 == 3", True, "sum-tighter-than-equals"),
    row("1 + 2 < 2 + 2", True, "sum-tighter-than-less"),
    row("'a' + 'b' in ['ab']", True, "sum-tighter-than-in"),
    row("'ab' contains 'a' + 'b'", True, "sum-tighter-than-contains"),
    row("1 == 2 == false", True, "comparison-left-associative"),
    # level 5 and 6: + - below * / %
    row("1 + 2 * 3", 7, "times-tighter-than-plus"),
    row("10 - 4 / 2", 8.0, "divide-tighter-than-minus"),
    row("(1 + 2) * 3", 9, "parentheses"),
    row("10 - 2 - 3", 5, "minus-left-associative"),
    row("100 / 10 / 5", 2.0, "divide-left-associative"),
    row("2 * 3 % 4", 2, "times-and-modulo-left-to-right"),
    row("7 % 4 * 2", 6, "modulo-and-times-left-to-right"),
    # level 7: unary below ** and ??, above * /
    row("-2 * 3", -6, "unary-minus"),
    row("+3", 3, "unary-plus"),
    row("+-3", -3, "unary-plus-minus"),
    row("- -3", 3, "double-minus"),
    row("1 - -1", 2, "binary-minus-unary-minus"),
    row("!0 == false", False, "not-tighter-than-equals"),
    row("not true || true", True, "not-word-tighter-than-or"),
    row("!!'x'", True, "double-not"),
    row("-[1, 2][0]", -1, "postfix-tighter-than-minus"),
    # level 8: ** right associative, exponent may carry a sign
    row("2 ** 3 ** 2", 512, "power-right-associative"),
    row("(2 ** 3) ** 2", 64, "power-grouped"),
    row("2 * 3 ** 2", 18, "power-tighter-than-times"),
    row("2 ** -2", 0.25, "power-signed-exponent"),
    row("2 ^ 3 ^ 2", 512, "caret-right-associative"),
    row("2 ** [3][0]", 8, "postfix-tighter-than-power"),
    # level 10: postfix
    row("{'a': {'b': 1}}.a.b", 1, "member-chain"),
    row("{'a': 1}?.a", 1, "optional-member"),
    row("{'a': {'b': 1}}?.a?.b", 1, "optional-member-chain"),
    row("{'in': 1, 'not': 2}.in + {'not': 2}.not", 3, "keyword-member-names"),
    row("[1, 2, 3][0]", 1, "index"),
    row("[1, 2, 3][-1]", 3, "negative-index"),
    row("[1, 2, 3][-3]", 1, "negative-index-first"),
    row("'hello'[1]", "e", "string-index-character"),
    row("'hello'[-1]", "o", "string-negative-index"),
    row("{'a': 1}['a']", 1, "map-index"),
    row("[[1, 2]][0][1]", 2, "index-chain"),
    row("[1, 2, 3, 4][1:3]", [2, 3], "slice"),
    row("[1, 2, 3][1:]", [2, 3], "slice-open-end"),
    row("[1, 2, 3][:2]", [1, 2], "slice-open-start"),
    row("[1, 2, 3][:]", [1, 2, 3], "slice-whole"),
    row("[1, 2, 3][-2:]", [2, 3], "slice-negative"),
    row("[1, 2][5:9]", [], "slice-clamps"),
    row("'hello'[1:3]", "el", "string-slice"),
    row("'hello'[:-1]", "hell", "string-slice-negative"),
    row("[1, 2, 3][1 + 0:1 + 1]", [2], "slice-bounds-are-expressions"),
    # membership and string tests, with their negations
    row("2 in [1, 2]", True, "in-list"),
    row("3 in [1, 2]", False, "in-list-missing"),
    row("1.0 in [1]", True, "in-list-number-equality"),
    row("'a' in {'a': 1}", True, "in-map-keys"),
    row("'b' in {'a': 1}", False, "in-map-missing"),
    row("'ell' in 'hello'", True, "in-substring"),
    row("3 not in [1, 2]", True, "not-in-list"),
    row("'a' not in {'a': 1}", False, "not-in-map"),
    row("'x' not in 'abc'", True, "not-in-string"),
    row("'hello' contains 'ell'", True, "contains"),
    row("'hello' not contains 'z'", True, "not-contains"),
    row("'hello' startsWith 'he'", True, "starts-with"),
    row("'hello' not startsWith 'he'", False, "not-starts-with"),
    row("'hello' endsWith 'lo'", True, "ends-with"),
    row("'hello' not endsWith 'x'", True, "not-ends-with"),
    row("'hello' matches 'l+o$'", True, "matches"),
    row("'hello' matches 'll'", True, "matches-is-a-search"),
    row("'hello' matches '^l'", False, "matches-anchored"),
    row(r"'a1' matches '\\d'", True, "matches-escaped-class"),
    row("'hello' not matches '^h'", False, "not-matches"),
    row("!('a' in ['a'])", False, "negated-group"),
    # projection
    row("[{'p': 1}, {'p': 2}].p", [1, 2], "projection"),
    row("[{'p': 1}, {}].p", [1, None], "projection-missing-key"),
    row("[{'p': 1}, nil].p", [1, None], "projection-over-nil-item"),
    row("[{'a': {'b': 1}}, {'a': {'b': 2}}].a.b", [1, 2], "projection-chain"),
    row("[{'p': [1, 2]}].p", [[1, 2]], "projection-keeps-lists"),
    row("[].p", [], "projection-empty"),
    row("[{'p': 1}]?.p", [1], "optional-projection"),
    row("sum(get('cart', 'session').price)", 5.5, "seed-cart-total"),
    row("sum(get('nocart', 'session').price)", 0, "seed-empty-cart-total"),
    row("get('cart', 'session').name", ["cup", "mug"], "projection-of-session-list"),
    # predicates: .field is a member of the element, # the element
    row(
        "filter([{'s': 'active'}, {'s': 'off'}], .s == 'active')",
        [{"s": "active"}],
        "filter-member",
    ),
    row("filter([1, 2, 3], # > 1)", [2, 3], "filter-element"),
    row("map([1, 2], # * 10)", [10, 20], "map-element"),
    row("map([{'p': 2}, {'p': 3}], .p * 2)", [4, 6], "map-member"),
    row("map([{'p': {'q': 1}}], .p.q)", [1], "member-of-element-member"),
    row("map([{'p': 1}], #.p)", [1], "member-of-element"),
    row("count([1, 2, 3], # % 2 == 1)", 2, "count"),
    row("find([{'id': 1}, {'id': 2}], .id == 2)", {"id": 2}, "find"),
    row("any([1, 2], # > 1)", True, "any"),
    row("all([1, 2], # > 1)", False, "all"),
    row("none([1, 2], # > 5)", True, "none"),
    row("sum([{'p': 1}, {'p': 2.5}], .p)", 3.5, "sum-predicate"),
    row("map([[1, 2], [3]], count(#, # > 1))", [1, 1], "nested-predicate-shadows-element"),
    row("map([[1, 2], [3]], sum(#))", [3, 3], "element-passed-to-function"),
    row("filter([{'t': ['a']}, {'t': []}], len(.t) > 0)", [{"t": ["a"]}], "member-in-call"),
    row("filter(get('cart', 'session'), .price > 2).name", ["mug"], "filter-then-project"),
    row("map([1, 2], get('visits', 'session') + #)", [3, 4], "predicate-reads-context"),
]


# ---- SPEC §3: the built-ins -----------------------------------------------------------------

FUNCTIONS = [
    row("len('héllo')", 5, "len-string-characters"),
    row("len([1, 2])", 2, "len-list"),
    row("len({'a': 1})", 1, "len-map"),
    row("len(nil)", 0, "len-nil"),
    row("len('')", 0, "len-empty"),
    row("sum([1, 2, 3])", 6, "sum-ints"),
    row("sum([1, 2.5])", 3.5, "sum-mixed"),
    row("sum(nil)", 0, "sum-nil"),
    row("sum([])", 0, "sum-empty"),
    row("sum([1, nil, 2])", 3, "sum-skips-nil"),
    row("sum([{'p': 1}, {'p': nil}], .p)", 1, "sum-predicate-skips-nil"),
    row("min([3, 1, 2])", 1, "min-list"),
    row("max([3, 1, 2])", 3, "max-list"),
    row("min(3, 1, 2)", 1, "min-arguments"),
    row("max(1, 2.5)", 2.5, "max-arguments-mixed"),
    row("min([nil, 2, 1])", 1, "min-skips-nil"),
    row("max([nil, 2, nil])", 2, "max-skips-nil"),
    row("max(['b', 'a', 'c'])", "c", "max-strings"),
    row("min([])", None, "min-empty"),
    row("max(nil)", None, "max-nil"),
    row("abs(-3)", 3, "abs-int"),
    row("abs(-2.5)", 2.5, "abs-float"),
    row("abs(4)", 4, "abs-positive"),
    row("round(2.5)", 3, "round-half-up"),
    row("round(-2.5)", -3, "round-half-away-from-zero"),
    row("round(2.4)", 2, "round-down"),
    row("round(7)", 7, "round-int"),
    row("round(2.345, 2)", 2.35, "round-digits"),
    row("round(2.0, 1)", 2.0, "round-digits-float"),
    row("floor(2.7)", 2, "floor"),
    row("floor(-2.5)", -3, "floor-negative"),
    row("floor(3)", 3, "floor-int"),
    row("ceil(2.1)", 3, "ceil"),
    row("ceil(-2.1)", -2, "ceil-negative"),
    row("lower('AbC')", "abc", "lower"),
    row("upper('abc')", "ABC", "upper"),
    row("trim('  a b \\n')", "a b", "trim"),
    row("trim('xxaxx', 'x')", "a", "trim-characters"),
    row("split('a,b,,c', ',')", ["a", "b", "", "c"], "split"),
    row("split('abc', '')", ["a", "b", "c"], "split-characters"),
    row("split('', ',')", [""], "split-empty"),
    row("join(['a', 'b'], '-')", "a-b", "join"),
    row("join(['a', 'b'])", "ab", "join-no-separator"),
    row("join([], ',')", "", "join-empty"),
    row("replace('a-b-c', '-', '+')", "a+b+c", "replace"),
    row("replace('aaa', 'b', 'c')", "aaa", "replace-nothing"),
    row("first([1, 2])", 1, "first"),
    row("last([1, 2])", 2, "last"),
    row("first([])", None, "first-empty"),
    row("last(nil)", None, "last-nil"),
    row("keys({'b': 1, 'a': 2})", ["b", "a"], "keys-in-order"),
    row("values({'b': 1, 'a': 2})", [1, 2], "values-in-order"),
    row("keys({})", [], "keys-empty"),
    row("concat([1], [2, 3], [])", [1, 2, 3], "concat"),
    row("concat([1])", [1], "concat-one"),
    row("concat([1], nil)", [1], "concat-nil"),
    row("int('42')", 42, "int-from-string"),
    row("int(' -7 ')", -7, "int-from-padded-string"),
    row("int(3.9)", 3, "int-truncates"),
    row("int(-3.9)", -3, "int-truncates-toward-zero"),
    row("int(true)", 1, "int-from-bool"),
    row("int(5)", 5, "int-of-int"),
    row("float('2.5')", 2.5, "float-from-string"),
    row("float(2)", 2.0, "float-from-int"),
    row("float('1e3')", 1000.0, "float-exponent-string"),
    row("string(nil)", "", "string-nil"),
    row("string(true)", "true", "string-true"),
    row("string(false)", "false", "string-false"),
    row("string(42)", "42", "string-int"),
    row("string(-7)", "-7", "string-negative-int"),
    row("string(2.0)", "2", "string-integral-float"),
    row("string(2.5)", "2.5", "string-float"),
    row("string(0.1 + 0.2)", "0.30000000000000004", "string-float-shortest-round-trip"),
    row("string(1e15)", "1000000000000000", "string-integral-float-below-1e16"),
    row("string(1e16)", "1e+16", "string-float-from-1e16"),
    row("string(1e-7)", "1e-07", "string-small-float"),
    row("string([1, 2.0, nil, 'a'])", '[1,2.0,null,"a"]', "string-list-json"),
    row("string({'b': 1, 'a': true})", '{"b":1,"a":true}', "string-map-json"),
    row("string('x')", "x", "string-string"),
    row("bool(1)", True, "bool-one"),
    row("bool(0)", False, "bool-zero"),
    row("bool('')", False, "bool-empty"),
    row("bool('false')", False, "bool-false-word"),
    row("bool('true')", True, "bool-true-word"),
    row("bool([])", False, "bool-empty-list"),
    row("bool(nil)", False, "bool-nil"),
    row("type(nil)", "nil", "type-nil"),
    row("type(true)", "bool", "type-bool"),
    row("type(1)", "int", "type-int"),
    row("type(1.0)", "float", "type-float"),
    row("type('')", "string", "type-string"),
    row("type([])", "list", "type-list"),
    row("type({})", "map", "type-map"),
    row("type(7 / 7)", "float", "type-of-division"),
    row("json({'b': 1, 'a': [1, 2.0, nil]})", '{"b":1,"a":[1,2.0,null]}', "json-compact-ordered"),
    row("json('é')", '"é"', "json-keeps-non-ascii"),
    row("json(nil)", "null", "json-nil"),
    row("json(7)", "7", "json-int-stays-int"),
    row("json(true)", "true", "json-bool"),
    row("default(nil, 1)", 1, "default-nil"),
    row("default('', 1)", 1, "default-empty"),
    row("default(0, 1)", 0, "default-keeps-zero"),
    row("default(false, 1)", False, "default-keeps-false"),
    row("default('x', 1)", "x", "default-keeps-value"),
    row("any([], # > 0)", False, "any-empty"),
    row("all([], # > 0)", True, "all-empty"),
    row("none([], # > 0)", True, "none-empty"),
    row("filter(nil, # > 0)", [], "filter-nil"),
    row("map([], #)", [], "map-empty"),
    row("count([0, 1, '', 'a'], #)", 2, "count-truthy"),
    row("find([], #)", None, "find-empty"),
    row("find([1, 2], # > 5)", None, "find-none"),
]


# ---- SPEC §3: the scope-aware functions that only read (see make_context) -----------------

SCOPE_READS = [
    # unqualified search: memory, outputs, query, body, headers
    row("get('mem')", "from memory", "get-memory"),
    row("get('both')", "memory wins", "get-memory-before-output"),
    row("get('qonly')", "from query", "get-query-not-session"),
    row("get('qb')", "query wins", "get-query-before-body-and-header"),
    row("get('bonly')", "from body", "get-body"),
    row("get('n')", 1, "get-body-int"),
    row("get('x-api-key')", "secret", "get-header-case-insensitive"),
    row("get('X-API-KEY')", "secret", "get-header-upper-case"),
    row("get('accept')", "text/plain", "get-header"),
    row("get('blank')", "", "get-stops-at-empty-value"),
    row("get('nothing')", None, "get-stops-at-nil-value"),
    row("get('q')", "", "get-empty-query-hides-body"),
    row("get('qnil')", None, "get-nil-query"),
    row("get('missing')", None, "get-missing-is-nil"),
    row("get('user')", None, "get-never-searches-session"),
    row("get('visits')", None, "get-never-searches-session-counter"),
    # reserved actionIds
    row("get('fetch')", {"status": 200, "items": [1, 2]}, "get-action-output"),
    row("get('fetch').status", 200, "get-action-output-member"),
    row("get('skipped')", None, "get-skipped-action-ignores-memory-and-query"),
    # get(key, default)
    row("get('missing', 'fallback')", "fallback", "get-default-missing"),
    row("get('blank', 'fallback')", "fallback", "get-default-empty"),
    row("get('nothing', 'fallback')", "fallback", "get-default-nil"),
    row("get('q', 'fallback')", "fallback", "get-default-empty-query-hides-body"),
    row("get('language', 'en')", "en", "seed-language-default"),
    row("get('mem', 'fallback')", "from memory", "get-default-unused"),
    row("get('count', 5)", 0, "get-default-keeps-zero"),
    row("get('missing', 5)", 5, "get-default-number"),
    row("get('user', 'sesion')", "sesion", "get-misspelt-source-is-a-default"),
    # get(key, source)
    row("get('user', 'session')", "ann", "get-session"),
    row("get('visits', 'session')", 2, "get-session-int"),
    row("get('qonly', 'session')", "from session", "get-session-only-session"),
    row("get('mem', 'memory')", "from memory", "get-memory-source"),
    row("get('qonly', 'memory')", None, "get-memory-source-only"),
    row("get('both', 'output')", "output loses", "get-output-source"),
    row("get('fetch', 'output').status", 200, "get-output-action"),
    row("get('q', 'query')", "", "get-query-source"),
    row("get('q', 'body')", "body hidden", "get-body-source"),
    row("get('bonly', 'query')", None, "get-query-source-only"),
    row("get('qb', 'param')", "query wins", "get-param-query-first"),
    row("get('bonly', 'param')", "from body", "get-param-then-body"),
    row("get('q', 'param')", "", "get-param-stops-at-empty-query"),
    row("get('QB', 'header')", "header loses", "get-header-source"),
    row("get('qb', 'header')", "header loses", "get-header-source-case-insensitive"),
    row("get('sessionId', 'info')", SESSION_ID, "get-info-source"),
    row("get('session_id', 'info')", SESSION_ID, "get-info-alias"),
    row("get('nope', 'info')", None, "get-info-unknown-is-nil"),
    # get(key, source, default)
    row("get('blank', 'session', 'd')", "d", "get-source-default-empty"),
    row("get('missing', 'session', 'd')", "d", "get-source-default-missing"),
    row("get('nothing', 'memory', 'd')", "d", "get-source-default-nil"),
    row("get('q', 'query', 'd')", "d", "get-source-default-empty-query"),
    row("get('user', 'session', 'd')", "ann", "get-source-default-unused"),
    row("get('user', 'memory', 'd')", "d", "get-source-default-other-source"),
    # session() and info()
    row("session().user", "ann", "session-map"),
    row("keys(session())", ["visits", "cart", "user", "blank", "qonly"], "session-keys-in-order"),
    row("info('sessionId')", SESSION_ID, "info-session-id"),
    row("info('session_id')", SESSION_ID, "info-session-id-alias"),
    row("info('requestId')", REQUEST_ID, "info-request-id"),
    row("info('request_id')", REQUEST_ID, "info-request-id-alias"),
    row("info('ID')", REQUEST_ID, "info-id-alias"),
    row("info('timestamp')", TIMESTAMP, "info-timestamp"),
    row("info('current_time')", TIMESTAMP, "info-current-time-alias"),
    row("info('method')", "POST", "info-method"),
    row("info('path')", "/api/cart", "info-path"),
    row("info('ip')", "10.0.0.7", "info-ip"),
    row("info('IP')", "10.0.0.7", "info-ip-alias"),
    row("info('actionId')", "cart", "info-action-id"),
    row("info('workflow.name')", "shop", "info-workflow-name"),
    row("info('workflow.version')", "1.2.0", "info-workflow-version"),
]


# ---- SPEC §2, the rest of expr-lang's syntax ---------------------------------------------------

LANGUAGE = [
    # literals
    row("0o17 + 0O1", 16, "octal"),
    row("0b101 + 0B1_0", 7, "binary"),
    row("2. + 1", 3.0, "trailing-dot-float"),
    row("`a\\n'b\"`", "a\\n'b\"", "raw-string-keeps-backslashes"),
    row("`two\nlines`", "two\nlines", "raw-string-spans-lines"),
    row("{1: 'a', 2.5: 'b'}", {"1": "a", "2.5": "b"}, "number-map-keys-are-text"),
    row("{('a' + 'b'): 1, c: 2}", {"ab": 1, "c": 2}, "computed-map-key"),
    row("{(get('mem')): true}", {"from memory": True}, "computed-key-from-request"),
    row("{}[nil]", None, "map-index-nil"),
    row("{'key': 'value'}[nil]", None, "map-index-nil-key"),
    # ranges: integers from a to b, between comparison and + in precedence
    row("1..5", [1, 2, 3, 4, 5], "range"),
    row("3..1", [], "range-empty"),
    row("-1..1", [-1, 0, 1], "range-negative-start"),
    row("1..1+2", [1, 2, 3], "range-below-sum"),
    row("2 in 1..3", True, "in-range"),
    row("1..3 == [1, 2, 3]", True, "range-equals"),
    row("len(0..999)", 1000, "range-length"),
    # pipes: x | f(y) is f(x, y)
    row("'  Hi ' | trim() | lower()", "hi", "pipe-chain"),
    row("[3, 1, 2] | sort() | map(# * 2)", [2, 4, 6], "pipe-into-predicate"),
    row("'a' | upper() + 'B' | lower()", "ab", "pipe-left-to-right"),
    row("[] | first() ?? 'none'", "none", "pipe-then-coalesce"),
    row("1 + 2 | string()", "3", "pipe-loosest"),
    row("get('qb') | upper() == 'QUERY WINS' ? 'y' : 'n'", "y", "pipe-then-ternary"),
    row("false ? 1 : 2 | string()", "2", "pipe-in-branch"),
    row("1..4 | filter(# % 2 == 0) | reduce(#acc + #, 0)", 6, "pipe-filter-reduce"),
    # predicates in braces, #index and #acc
    row("filter([1, 2, 3], {# > 1})", [2, 3], "braces-predicate"),
    row("map([{'a': 1}], {.a + 1})", [2], "braces-member"),
    row("map(['a', 'b'], {#index})", [0, 1], "index-pointer"),
    row("map(['a', 'b'], # + string(#index))", ["a0", "b1"], "index-pointer-bare"),
    row("reduce(1..4, #acc + #)", 10, "reduce-from-first-item"),
    row("reduce([], #acc + #, 5)", 5, "reduce-empty-with-initial"),
    row("reduce(['a', 'b'], #acc + #index, 10)", 11, "reduce-index"),
    row("map([[1, 2], [3]], {reduce(#, #acc * #)})", [2, 3], "reduce-nested"),
    row("map([1, 2], {let x = # * 10; x + #})", [11, 22], "let-in-braces"),
    row("map([1, 2], {set('n', #); get('n')})", [1, 2], "sequence-in-braces"),
    # let and sequences
    row("let x = 2; x * 3", 6, "let"),
    row("let x = 2; let y = x + 1; x * y", 6, "let-chain"),
    row("let x = get('n'); x + 1", 2, "let-of-request"),
    row("let cart = get('cart', 'session'); sum(cart.price) / len(cart)", 2.75, "let-cart"),
    row("let p = {'a': [1]}; p.a[0]", 1, "let-name-postfix"),
    row("let xs = [1, 2]; xs | map(# * 2)", [2, 4], "let-name-piped"),
    row("len(let s = 'ab'; s + s)", 4, "let-as-argument"),
    row("[let a = 1; a, 2]", [1, 2], "let-as-list-item"),
    row("1; 2; 3", 3, "sequence"),
    row("set('a', 1); get('a') + 1", 2, "sequence-effects"),
    row("(1; 2) + 1", 3, "sequence-in-parentheses"),
    row("1;", 1, "trailing-semicolon"),
    # if / else
    row("if get('n') > 0 { 'positive' } else { 'not' }", "positive", "if"),
    row("if false { 1 } else if true { 2 } else { 3 }", 2, "else-if"),
    row("if [] { 1 } else { set('k', 2); get('k') }", 2, "if-truthiness-and-sequence"),
    # chained comparisons: each operand once
    row("1 < 2 < 3", True, "chain"),
    row("1 < 2 > 3", False, "chain-mixed"),
    row("1 < 2 < 3 < 4", True, "chain-long"),
    row("1 < 2 < 3 == true", True, "chain-then-equals"),
    row("3 > 2 >= 2", True, "chain-greater"),
    row("1 < set('c', 5) < 10 && get('c') == 5", True, "chain-middle-once"),
    row("2 < 1 < 'x'", False, "chain-stops-at-first-false"),
    # ?? takes a signed or negated right operand
    row("nil ?? -1", -1, "coalesce-minus"),
    row("nil ?? !false", True, "coalesce-not"),
    row("0 ?? not true", 0, "coalesce-not-word"),
    row("get('missing') ?? -1 + 3", 2, "coalesce-minus-then-sum"),
    # ::builtin, ?.[i]
    row("::len('abc')", 3, "builtin-prefix"),
    row("::upper('a') + ::string(1)", "A1", "builtin-prefix-twice"),
    row("get('item')?.['name']", "pen", "optional-index"),
    row("nil?.[0]", None, "optional-index-of-nil"),
    row("[1, 2]?.[-1]", 2, "optional-index-negative"),
    # expr-lang's get(list or map, key)
    row("get([1, 2, 3], -1)", 3, "get-list-index"),
    row("get([1, 2, 3], 9)", None, "get-list-out-of-range"),
    row("get({'a': 1}, 'a')", 1, "get-map-key"),
    row("{} | get('a') | get('b')", None, "get-chain-of-missing"),
]

# ---- SPEC §3, expr-lang's standard library ----------------------------------------------------

STDLIB = [
    row("one([1, 2, 3], # > 2)", True, "one"),
    row("one([1, 2, 3], # > 1)", False, "one-not-two"),
    row("count([true, 0, 'a', nil])", 2, "count-without-predicate"),
    row("findIndex([1, 5, 7], # > 4)", 1, "find-index"),
    row("findIndex([1], # > 4)", None, "find-index-none"),
    row("findLast([1, 5, 7], # > 4)", 7, "find-last"),
    row("findLastIndex([1, 5, 7, 1], # > 4)", 2, "find-last-index"),
    row(
        "groupBy([1, 2, 3, 4], # % 2 == 0 ? 'even' : 'odd')",
        {"odd": [1, 3], "even": [2, 4]},
        "group-by",
    ),
    row(
        "groupBy([{'a': 30}, {'a': 40}, {'a': 30}], .a)['30']",
        [{"a": 30}, {"a": 30}],
        "group-by-number-keys-are-text",
    ),
    row("groupBy([1, 2], # > 1)", {"false": [1], "true": [2]}, "group-by-bool-keys"),
    row("sortBy([{'n': 'b'}, {'n': 'a'}], .n)", [{"n": "a"}, {"n": "b"}], "sort-by"),
    row("sortBy([1, 2, 3, 4], # % 2)", [2, 4, 1, 3], "sort-by-stable"),
    row("sortBy([1, 3, 2], #, 'desc')", [3, 2, 1], "sort-by-desc"),
    row("sort([3, 1.5, 2])", [1.5, 2, 3], "sort-numbers"),
    row("sort(['b', 'a'], 'desc')", ["b", "a"], "sort-strings-desc"),
    row("reverse([1, 2, 3])", [3, 2, 1], "reverse"),
    row("uniq([1, 1.0, '1', nil, '', [1], [1]])", [1, "1", None, "", [1]], "uniq"),
    row("flatten([1, [2, [3, [4]]], []])", [1, 2, 3, 4], "flatten"),
    row("take([1, 2, 3], 2)", [1, 2], "take"),
    row("take([1], 5)", [1], "take-more-than-there-is"),
    row("toPairs({'a': 1, 'b': 2})", [["a", 1], ["b", 2]], "to-pairs"),
    row("fromPairs([['a', 1], ['b', 2]])", {"a": 1, "b": 2}, "from-pairs"),
    row("fromPairs([[1, 'x']])", {"1": "x"}, "from-pairs-number-key"),
    row("mean([1, 2, 3, 4])", 2.5, "mean"),
    row("mean(10, [1, 2, 3], 1..9)", 4.6923076923076925, "mean-flattens"),
    row("mean([])", 0.0, "mean-empty"),
    row("median([3, 1, 2])", 2.0, "median-odd"),
    row("median(1..5, 4.9)", 3.5, "median-even"),
    row("max([1, 2, 4, 10], 20, [29, 23, -19])", 29, "max-flattens"),
    row("min(-1, [1.5, 2.5])", -1, "min-flattens"),
    row("max([], 5)", 5, "max-empty-list-and-number"),
    row("max([[1, 2], [3, 4]])", 4, "max-nested"),
    row("max('a')", "a", "max-of-one-value"),
    row("bitand(12, 10) + bitor(12, 10) + bitxor(12, 10)", 28, "bitwise"),
    row("bitnand(12, 10)", 4, "bitnand"),
    row("bitnot(5)", -6, "bitnot"),
    row("bitshl(1, 10) + bitshr(-16, 2)", 1020, "bitshift"),
    row("bitushr(-5, 2)", 4611686018427387902, "bitushr"),
    row("trimPrefix('  a ', ' ') + trimSuffix('xa.md', '.md')", " a xa", "trim-prefix-suffix"),
    row("trimPrefix(' a')", "a", "trim-prefix-default-space"),
    row("hasPrefix('kdeps', 'kd') && hasSuffix('kdeps', 'ps')", True, "has-prefix-suffix"),
    row("indexOf('héllo', 'l')", 2, "index-of-counts-characters"),
    row("lastIndexOf('hello', 'l')", 3, "last-index-of"),
    row("indexOf('abc', 'z')", -1, "index-of-missing"),
    row("split('a,b,c', ',', 2)", ["a", "b,c"], "split-count"),
    row("split('a,b', ',', 0)", [], "split-count-zero"),
    row("split('abc', '', 2)", ["a", "bc"], "split-characters-count"),
    row("splitAfter('a,b,c', ',')", ["a,", "b,", "c"], "split-after"),
    row("splitAfter('a,b,c', ',', 2)", ["a,", "b,c"], "split-after-count"),
    row("replace('aaa', 'a', 'b', 2)", "bba", "replace-count"),
    row("replace('aaa', 'a', 'b', 0)", "aaa", "replace-count-zero"),
    row("repeat('ab', 3)", "ababab", "repeat"),
    row("repeat('x', 0)", "", "repeat-zero"),
    row("toBase64('héllo')", "aMOpbGxv", "to-base64"),
    row("fromBase64('aMOpbGxv')", "héllo", "from-base64"),
    row("int(' 42 ') + int('-7') + int('007')", 42, "int-of-ascii-text"),
    row("float('1.5e3') + float(' -2 ')", 1498.0, "float-of-json-number"),
]

ALL_ROWS = VALUES + SYNTAX + FUNCTIONS + SCOPE_READS + LANGUAGE + STDLIB


# ---- random expressions for hypothesis: source text built from the grammar's constructs ----

_BINARY = (
    "||", "or", "&&", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains",
    "not contains", "startsWith", "not startsWith", "endsWith", "not endsWith", "matches",
    "not matches", "+", "-", "*", "/", "%", "**", "^", "??",
)  # fmt: skip
_UNARY = ("!", "not ", "-", "+")
_NAMES = ("a", "b", "price", "name", "in", "not", "true", "__class__", "x_1")
_MAP_KEYS = ("a", "b", "price", "'k y'", '"in"')
_CALLS = (
    "len", "sum", "min", "max", "abs", "round", "floor", "ceil", "lower", "upper", "trim",
    "split", "join", "replace", "first", "last", "keys", "values", "concat", "int", "float",
    "string", "bool", "type", "json", "default", "filter", "map", "any", "all", "none",
    "count", "find", "get", "set", "unset", "info", "session", "nosuch", "one", "findIndex",
    "findLast", "groupBy", "sortBy", "reduce", "sort", "reverse", "uniq", "flatten", "take",
    "mean", "median", "repeat", "indexOf", "splitAfter", "toPairs", "fromPairs", "bitand",
    "bitshl", "safe", "toJSON", "fromJSON", "urlencode", "ternary", "input", "output",
)  # fmt: skip
_METHODS = ("request.header", "request.params", "item.current", "loop.index", "item.values")


def _quoted(text: str, double: bool) -> str:
    quote = '"' if double else "'"
    body = text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return quote + body + quote


def expressions(max_leaves: int = 12) -> st.SearchStrategy[str]:
    """Source text of random expressions: every literal form, operator, postfix and call
    shape of SPEC §2, parenthesised at random (so precedence is exercised both ways)."""
    numbers = st.one_of(
        st.integers(-1000, 10**6).map(str),
        st.integers(0, 4095).map(hex),
        st.sampled_from(["1_000", ".5", "1e3", "2.5e-3", "0.0", "9223372036854775807"]),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    )
    strings = st.builds(_quoted, st.text(max_size=6), st.booleans())
    leaves = st.one_of(
        numbers,
        strings,
        st.sampled_from(
            ["nil", "null", "true", "false", "[]", "{}", "#", "#.price", "#index", "#acc"]
        ),
        st.sampled_from(["0o17", "0b101", "2.", "`raw\\`", "request.method", "input.item"]),
        st.sampled_from(_NAMES).map(lambda name: "." + name),
        st.sampled_from(
            [
                "get('visits', 'session')",
                "get('cart', 'session')",
                "get('item')",
                "get('q')",
                "session()",
                "info('method')",
            ]
        ),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.builds(lambda x, wrap: f"({x})" if wrap else x, inner, st.booleans())
        return st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", group, st.sampled_from(_BINARY), group),
            st.builds(lambda op, a: f"{op}{a}", st.sampled_from(_UNARY), group),
            st.builds(lambda c, a, b: f"{c} ? {a} : {b}", group, group, group),
            st.builds(lambda a, b: f"{a} ?: {b}", group, group),
            st.builds(
                lambda a, dot, name: f"{a}{dot}{name}",
                group,
                st.sampled_from([".", "?."]),
                st.sampled_from(_NAMES),
            ),
            st.builds(lambda a, i: f"{a}[{i}]", group, inner),
            st.builds(
                lambda a, i, j: f"{a}[{i}:{j}]",
                group,
                st.one_of(st.just(""), inner),
                st.one_of(st.just(""), inner),
            ),
            st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
            st.lists(st.tuples(st.sampled_from(_MAP_KEYS), inner), max_size=3).map(
                lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
            ),
            st.builds(
                lambda name, args: f"{name}({', '.join(args)})",
                st.sampled_from(_CALLS + _METHODS + tuple("::" + c for c in _CALLS[:8])),
                st.lists(inner, max_size=3),
            ),
            st.builds(
                lambda a, name, args: f"{a} | {name}({', '.join(args)})",
                group,
                st.sampled_from(_CALLS),
                st.lists(inner, max_size=2),
            ),
            st.builds(
                lambda name, a, b: f"let {name} = {a}; {b}", st.sampled_from("xy"), inner, inner
            ),
            st.sampled_from(("x", "y")),
            st.builds(lambda a, b: f"{a}; {b}", group, inner),
            st.builds(lambda c, a, b: f"if {c} {{ {a} }} else {{ {b} }}", inner, inner, inner),
            st.builds(lambda a, i: f"{a}?.[{i}]", group, inner),
            st.builds(lambda a, b: f"{a}..{b}", st.integers(-3, 5), st.integers(-3, 5)),
            st.builds(lambda name, a: f"{name}({a}, {{{a}}})", st.sampled_from(_CALLS[20:]), group),
            st.builds(lambda k, a: f"{{({k}): {a}}}", inner, inner),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)
