"""A session store that fails answers 503 and recovers without a restart (SPEC §6, §8);
a SQLite store unwritable at start stops the server; one deleted or replaced under it is
noticed.

Redis goes away through a TCP proxy the test cuts (the shared Redis keeps running); the
load fails inside an expression (``get('cart', 'session')``), inside a validation (the
login example's protected route, where a failed load must not read as "not logged in"),
and at commit (a new session's first save). Every one is a 503 naming the request, and
the same session works again once the proxy is back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from _proxy import Proxy
from _server import Server, environment, serve_command, workflow_copy
from session_backends import REDIS_URL, delete_prefix, require_redis
from test_server_e2e import assert_error, assert_ok, session_of

from kdeps_expr.sessions import SqliteStore


@pytest.fixture
def redis_proxy() -> Iterator[tuple[Proxy, str]]:
    """A proxy in front of the test Redis, and a key prefix of this test's own."""
    client = require_redis()
    options = client.connection_pool.connection_kwargs
    prefix = f"kdeps-test-{uuid.uuid4().hex[:8]}:"
    try:
        with Proxy((options["host"], options["port"])) as proxy:
            yield proxy, prefix
    finally:
        delete_prefix(client, prefix)
        client.close()


def assert_store_failed(response: httpx.Response, log: str) -> None:
    """A 503 naming its request, whose id the server logged with the store's error."""
    request_id = response.headers["x-request-id"]
    assert_error(response, 503, f"session store failed (request {request_id})")
    assert f"session store failed (request {request_id})" in log


def test_a_redis_outage_is_a_503_and_the_session_survives_it(
    tmp_path: Path, redis_proxy: tuple[Proxy, str]
) -> None:
    proxy, prefix = redis_proxy
    database = REDIS_URL.rsplit("/", 1)[1]
    url = f"redis://127.0.0.1:{proxy.port}/{database}"
    session = {"type": "redis", "url": url, "keyPrefix": prefix}
    login = workflow_copy(tmp_path, "login", session=session)
    cart = workflow_copy(tmp_path, "cart", session=session)
    pen = {"name": "pen", "price": 3}
    with (
        Server(login, tmp_path / "login.log") as login_server,
        Server(cart, tmp_path / "cart.log") as cart_server,
        login_server.client() as user,
        cart_server.client() as shopper,
    ):
        logged_in = user.post("/api/v1/login", json={"username": "admin", "password": "pw"})
        assert_ok(logged_in, {"message": "Login successful"})
        added = shopper.post("/api/v1/cart", json={"item": pen})
        assert_ok(added, {"cart": [pen], "count": 1})

        proxy.cut()
        # The load inside a validation: a failed read is not "not logged in".
        assert_store_failed(user.get("/api/v1/protected"), login_server.log_text())
        # The load inside an expression.
        assert_store_failed(
            shopper.post("/api/v1/cart", json={"item": pen}), cart_server.log_text()
        )
        # No session to load: the first save, at commit, fails.
        with cart_server.client() as newcomer:
            assert_store_failed(
                newcomer.post("/api/v1/cart", json={"item": pen}), cart_server.log_text()
            )

        proxy.restore()
        protected = user.get("/api/v1/protected")
        assert_ok(protected, "Hello admin, how can I help?")
        assert session_of(protected) == session_of(logged_in)
        again = shopper.post("/api/v1/cart", json={"item": pen})
        assert_ok(again, {"cart": [pen, pen], "count": 2})
        assert session_of(again) == session_of(added)


# --- SQLite: an unwritable file, and one deleted or replaced under the server ----------
#
# The tests run as root, whom file permissions do not stop (chmod 0444 changes nothing for
# root). The immutable attribute (chattr +i) stops every writer, root included, and is
# removed again as easily: the file is honestly unwritable and then writable again. Only
# the database and its -wal are made immutable: SQLite maps the -shm file into memory, and
# a write to an immutable mapping would kill the process with SIGBUS instead of failing.


def chattr(flag: str, *paths: Path) -> None:
    """Set or clear the immutable attribute; fails the test (skips it outside CI) when the
    file system has none."""
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        message = f"chattr {flag} failed: {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    chattr("+i", *paths)
    try:
        yield
    finally:
        chattr("-i", *paths)


def cart_on_sqlite(folder: Path) -> Path:
    return workflow_copy(folder, "cart", session={"type": "sqlite", "path": "store/sessions.db"})


def test_a_store_unwritable_at_start_stops_serve_with_one_message(tmp_path: Path) -> None:
    workflow = cart_on_sqlite(tmp_path)
    database = workflow / "store" / "sessions.db"
    SqliteStore(database, 60.0).close()
    with immutable(database):
        command = serve_command(workflow, "--port", "0")
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=30, env=environment()
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"session store {database} is not writable: attempt to write a readonly database\n"
    )


def test_a_store_that_becomes_writable_again_is_used_again_without_a_restart(
    tmp_path: Path,
) -> None:
    """While the file is unwritable every request that writes is a 503; the connections
    opened meanwhile are read-only for good, so only dropping them lets the server recover."""
    workflow = cart_on_sqlite(tmp_path)
    database = workflow / "store" / "sessions.db"
    pen = {"name": "pen", "price": 3}
    with Server(workflow, tmp_path / "cart.log") as server, server.client() as client:
        assert_ok(client.post("/api/v1/cart", json={"item": pen}), {"cart": [pen], "count": 1})
        with immutable(database, database.with_name("sessions.db-wal")):

            def add(_: int) -> int:
                return httpx.post(f"{server.url}/api/v1/cart", json={"item": pen}).status_code

            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(add, range(64)))
            assert statuses == [503] * 64
            assert_store_failed(client.post("/api/v1/cart", json={"item": pen}), server.log_text())
        # One after another: each takes the pooled connection that waited longest.
        statuses = [add(number) for number in range(24)]
        assert statuses == [200] * 24
        response = client.post("/api/v1/cart", json={"item": pen})
        assert_ok(response, {"cart": [pen, pen], "count": 2})


@pytest.mark.parametrize("change", ["deleted", "replaced"])
def test_a_store_deleted_or_replaced_under_the_server_is_noticed(
    tmp_path: Path, change: str
) -> None:
    workflow = cart_on_sqlite(tmp_path)
    database = workflow / "store" / "sessions.db"
    pen, ink = {"name": "pen", "price": 3}, {"name": "ink", "price": 4.5}
    with Server(workflow, tmp_path / "cart.log") as server, server.client() as client:
        assert_ok(client.post("/api/v1/cart", json={"item": pen}), {"cart": [pen], "count": 1})
        if change == "deleted":
            shutil.rmtree(database.parent)
        else:
            other = SqliteStore(tmp_path / "other.db", 3600.0)
            other.save("x" * 43, {"cart": [ink]}, 0)
            other.close()
            os.replace(tmp_path / "other.db", database)
        # The old session lived in the old file: the cart starts again, in the new one.
        assert_ok(client.post("/api/v1/cart", json={"item": ink}), {"cart": [ink], "count": 1})
        new_id = session_of(client.get("/api/v1/cart"))
        log = server.log_text()
    if change == "deleted":
        assert (
            f"ERROR kdeps_expr.sessions: session store {database} was deleted while in use: "
            "its sessions are gone; a new, empty store is created there\n"
        ) in log
    else:
        assert (
            f"ERROR kdeps_expr.sessions: session store {database} was replaced by another "
            "file while in use; the old file's journal is removed and the new file is used\n"
        ) in log
    # What the server wrote after the change is in the file at the path, for every process.
    store = SqliteStore(database, 3600.0)
    try:
        snapshot = store.load(new_id)
        assert snapshot is not None and snapshot.data == {"cart": [ink]}
        replaced = store.load("x" * 43)
        assert (replaced is not None) == (change == "replaced")
    finally:
        store.close()
