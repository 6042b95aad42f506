"""Client values that JSON values cannot carry are a 400 at the door, and an answer that
cannot be sent never leaves a changed session behind it (SPEC §6).

The cart example runs on a real server process: before these rules, a body holding a raw
surrogate was added to the cart and committed, and every later request on that cart
answered 500. The runner test shows the structural half: the answer is encoded before the
session commits, so even a value that slipped past every check fails the request whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _server import Server, workflow_copy
from _workflows import write_workflow
from test_server_e2e import assert_error, assert_ok, session_of

from kdeps_expr.language.context import Request
from kdeps_expr.language.engine import Engine
from kdeps_expr.sessions import MemoryStore
from kdeps_expr.workflow import load_workflow
from kdeps_expr.workflow.runner import Runner

JSON = {"Content-Type": "application/json"}

BAD_BODIES = [
    pytest.param(
        b'{"item": "\xed\xa0\x80"}', "not valid UTF-8 at byte 10", id="raw-surrogate-bytes"
    ),
    pytest.param(
        '{"item": "\\ud800"}'.encode("utf-16"),
        "a \\u escape is half of a surrogate pair, not a character",
        id="utf16-escaped-surrogate",
    ),
    pytest.param(
        '{"item": "\ud800"}'.encode("utf-16-be", "surrogatepass"),
        "not valid UTF-16 at byte 20",
        id="utf16-raw-surrogate",
    ),
    pytest.param(
        b'{"item": {"price": 1e400}}',
        "number out of range: 1e400 is beyond a float",
        id="float-overflow",
    ),
    pytest.param(b'{"item": [-1e999]}', "number out of range: -1e999 is beyond a float", id="-inf"),
    pytest.param(
        b'{"item": 123456789012345678901234567890}',
        "integer out of range: 123456789012345678901234567890 does not fit in 64 bits",
        id="int-beyond-64-bits",
    ),
]


@pytest.fixture(scope="module")
def cart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("values")
    with Server(workflow_copy(folder, "cart"), folder / "cart.log") as server:
        yield server


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
def test_the_cart_refuses_what_json_values_cannot_carry_and_keeps_working(
    cart: Server, body: bytes, reason: str
) -> None:
    pen, ink = {"name": "pen", "price": 3}, {"name": "ink", "price": 4.5}
    with cart.client() as client:
        added = client.post("/api/v1/cart", json={"item": pen})
        assert_ok(added, {"cart": [pen], "count": 1})
        session_id = session_of(added)
        refused = client.post("/api/v1/cart", content=body, headers=JSON)
        assert_error(refused, 400, f"malformed JSON body: {reason}")
        assert_ok(client.post("/api/v1/cart", json={"item": ink}), {"cart": [pen, ink], "count": 2})
        viewed = client.get("/api/v1/cart")
        assert_ok(viewed, {"items": [pen, ink], "total": 7.5})
        assert session_of(viewed) == session_id


def test_the_largest_64_bit_integers_are_values(cart: Server) -> None:
    body = b'{"item": {"price": 1e308, "ids": [-9223372036854775808, 9223372036854775807]}}'
    item = {"price": 1e308, "ids": [-(2**63), 2**63 - 1]}
    with cart.client() as client:
        response = client.post("/api/v1/cart", content=body, headers=JSON)
        assert_ok(response, {"cart": [item], "count": 1})
        assert_ok(client.get("/api/v1/cart"), {"items": [item], "total": 1e308})


def test_an_answer_that_cannot_be_sent_commits_nothing(tmp_path: Path) -> None:
    """A function that returns text no JSON can carry (here a plugin's lone surrogate): the
    answer fails to encode before the commit, so the session keeps its old count."""
    files = {
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          expr:
            - set('visits', get('visits', 'session') + 1, 'session')
          apiResponse:
            response:
              visits: get('visits', 'session')
              note: "{{ get('visits', 'session') > 1 ? odd() : 'fine' }}"
        """
    }
    engine = Engine()
    engine.register("odd", lambda: "\ud800")
    workflow = load_workflow(write_workflow(tmp_path, files), engine)
    store = MemoryStore(60.0)
    runner = Runner(workflow, engine, store)
    first = runner.handle(Request(request_id="r1"))
    assert (first.status, first.body["data"]) == (200, {"visits": 1, "note": "fine"})
    session_id = first.session_id
    assert session_id is not None
    second = runner.handle(Request(request_id="r2"), session_id=session_id)
    assert second.status == 500
    assert second.body["error"] == {"code": 500, "message": "internal error in main (request r2)"}
    snapshot = store.load(session_id)
    assert snapshot is not None and snapshot.data == {"visits": 1}
