"""``kdeps-expr sessions [WORKFLOW] [--store URL] list|show ID|delete ID|purge``."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from session_backends import (
    POSTGRES_URL,
    REDIS_URL,
    FakeClock,
    delete_prefix,
    postgres_schema,
    require_redis,
)

from kdeps_expr.cli import main
from kdeps_expr.sessions import SessionStore, new_session_id, open_store
from kdeps_expr.sessions.base import Clock

LIVE = 2_000_000_000.0  # 2033-05-18T03:33:20Z: live for any test run before then
DEAD = 1_000_000_000.0  # 2001-09-09T01:46:40Z: long expired


def seed(make: Callable[[Clock], SessionStore]) -> None:
    """Three live sessions used a minute apart, and two expired ones."""
    live_clock = FakeClock(LIVE)
    store = make(live_clock)
    store.save("alice", {"user": "alice", "visits": 3}, 0)
    live_clock.advance(60)
    store.save("bob", {}, 0)
    live_clock.advance(60)
    store.save("carol", {"cart": [{"item": "tea", "price": 2.5}]}, 0)
    store.close()
    dead = make(FakeClock(DEAD))
    dead.save("old1", {}, 0)
    dead.save("old2", {}, 0)
    dead.close()


LISTING = (
    "ID     LAST USED             EXPIRES               KEYS\n"
    "alice  2033-05-18T03:33:20Z  2033-05-18T04:03:20Z  2\n"
    "bob    2033-05-18T03:34:20Z  2033-05-18T04:04:20Z  0\n"
    "carol  2033-05-18T03:35:20Z  2033-05-18T04:05:20Z  1\n"
)


def write_workflow(folder: Path, session: dict[str, str]) -> Path:
    """A one-resource workflow in ``folder`` whose ``settings.session`` is ``session``."""
    document = {
        "apiVersion": "kdeps.io/v1",
        "kind": "Workflow",
        "metadata": {"name": "counter", "version": "1.0.0", "targetActionId": "count"},
        "settings": {"session": session},
    }
    resource = {
        "metadata": {"actionId": "count"},
        "run": {"expr": ["set('visits', get('visits', 'session') + 1, 'session')"]},
    }
    (folder / "resources").mkdir(parents=True)
    (folder / "workflow.yaml").write_text(yaml.safe_dump(document))
    (folder / "resources" / "count.yaml").write_text(yaml.safe_dump(resource))
    return folder


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    """A workflow whose SQLite store holds the sessions of :func:`seed`."""
    config = {"type": "sqlite", "path": ".kdeps/sessions.db", "ttl": "30m"}
    folder = write_workflow(tmp_path / "counter", config)
    seed(lambda clock: open_store(config, folder, clock))
    return folder


@pytest.fixture
def redis_workflow(tmp_path: Path) -> Iterator[Path]:
    """A workflow on Redis under a key prefix of its own, with sessions alice, bob and
    carol (Redis expires keys on its own clock, so no fake clock here)."""
    client = require_redis()
    prefix = f"kdeps-test:{tmp_path.name}:"
    config = {"type": "redis", "url": REDIS_URL, "keyPrefix": prefix, "ttl": "30m"}
    folder = write_workflow(tmp_path / "counter", config)
    store = open_store(config, folder)
    for session_id, data in (("alice", {"a": 1, "b": 2}), ("bob", {}), ("carol", {"c": 3})):
        store.save(session_id, data, 0)
        time.sleep(0.002)
    store.close()
    yield folder
    delete_prefix(client, prefix)
    client.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["sessions", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_list(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(workflow), "list") == (0, LISTING, "")


def test_list_from_the_workflow_folder(
    workflow: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workflow)
    assert run(capsys, "list") == (0, LISTING, "")


def test_list_by_store_url(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite://{workflow / '.kdeps' / 'sessions.db'}"
    assert run(capsys, "--store", url, "list") == (0, LISTING, "")


def test_list_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_store({"path": "empty.db"}, tmp_path).close()
    url = f"sqlite://{tmp_path / 'empty.db'}"
    assert run(capsys, "--store", url, "list") == (0, "no live sessions\n", "")


def test_a_missing_store_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo" / "x.db"
    assert run(capsys, "--store", f"sqlite://{typo}", "list") == (
        1,
        "",
        f"no session store at {typo}: nothing has been stored there\n",
    )
    never_ran = tmp_path / "never-ran"
    never_ran.mkdir()
    (never_ran / "workflow.yaml").write_text("metadata: {name: n, targetActionId: a}\n")
    (never_ran / "resources").mkdir()
    (never_ran / "resources" / "a.yaml").write_text("metadata: {actionId: a}\n")
    status, out, err = run(capsys, str(never_ran), "list")
    assert (status, out) == (1, "")
    assert err.endswith("/never-ran/.kdeps/sessions.db: nothing has been stored there\n")
    assert not (tmp_path / "typo").exists()
    assert not (never_ran / ".kdeps").exists()


def test_show(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(workflow), "show", "carol") == (
        0,
        "{\n"
        '  "id": "carol",\n'
        '  "version": 1,\n'
        '  "expiresAt": "2033-05-18T04:05:20Z",\n'
        '  "data": {\n'
        '    "cart": [\n'
        "      {\n"
        '        "item": "tea",\n'
        '        "price": 2.5\n'
        "      }\n"
        "    ]\n"
        "  }\n"
        "}\n",
        "",
    )


@pytest.mark.parametrize("action", ["show", "delete"])
@pytest.mark.parametrize("session_id", ["nobody", "old1"], ids=["unknown", "expired"])
def test_show_or_delete_a_missing_session(
    workflow: Path, capsys: pytest.CaptureFixture[str], action: str, session_id: str
) -> None:
    assert run(capsys, str(workflow), action, session_id) == (
        1,
        "",
        f"no live session {session_id!r}\n",
    )


def test_delete(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(workflow), "delete", "bob") == (0, "deleted session bob\n", "")
    remaining = "".join(line for line in LISTING.splitlines(True) if not line.startswith("bob"))
    assert run(capsys, str(workflow), "list") == (0, remaining, "")


def test_purge(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(workflow), "purge") == (0, "purged 2 expired sessions\n", "")
    assert run(capsys, str(workflow), "purge") == (0, "purged 0 expired sessions\n", "")
    with sqlite3.connect(workflow / ".kdeps" / "sessions.db") as connection:
        ids = connection.execute("SELECT id FROM sessions ORDER BY id").fetchall()
    assert ids == [("alice",), ("bob",), ("carol",)]


def test_redis_workflow(redis_workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moment = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    status, out, err = run(capsys, str(redis_workflow), "list")
    assert (status, err) == (0, "")
    rows = out.splitlines()
    assert rows[0] == "ID     LAST USED             EXPIRES               KEYS"
    for row, (session_id, keys) in zip(
        rows[1:], [("alice", 2), ("bob", 0), ("carol", 1)], strict=True
    ):
        assert re.fullmatch(f"{session_id} *{moment}  {moment}  {keys}", row), row
    assert len(rows) == 4
    assert run(capsys, str(redis_workflow), "purge") == (0, "purged 0 expired sessions\n", "")
    assert run(capsys, str(redis_workflow), "delete", "alice") == (
        0,
        "deleted session alice\n",
        "",
    )
    assert run(capsys, str(redis_workflow), "show", "alice") == (
        1,
        "",
        "no live session 'alice'\n",
    )


def test_a_store_url_names_a_redis_key_prefix(
    redis_workflow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--store redis://…?keyPrefix=P`` sees the sessions a workflow keeps under P, and
    only those; the other query parameters still reach Redis."""
    prefix = f"kdeps-test:{redis_workflow.parent.name}:"
    url = f"{REDIS_URL}?socket_timeout=3&keyPrefix={quote(prefix)}"
    status, out, err = run(capsys, "--store", url, "list")
    assert (status, err) == (0, "")
    assert [row.split()[0] for row in out.splitlines()] == ["ID", "alice", "bob", "carol"]
    status, out, _ = run(capsys, "--store", url, "show", "carol")
    assert (status, json.loads(out)["data"]) == (0, {"c": 3})
    other = f"{REDIS_URL}?keyPrefix={quote(prefix)}other:"
    assert run(capsys, "--store", other, "list") == (0, "no live sessions\n", "")
    empty = f"{REDIS_URL}?keyPrefix="
    assert run(capsys, "--store", empty, "list") == (
        1,
        "",
        f"store URL '{empty}': keyPrefix must not be empty\n",
    )


def test_postgres_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same listing, purge and errors on a PostgreSQL table, by workflow and by URL."""
    with postgres_schema() as (_, schema):
        config = {"type": "postgres", "url": POSTGRES_URL, "schema": schema, "ttl": "30m"}
        folder = write_workflow(tmp_path / "counter", config)
        url = f"{POSTGRES_URL}?schema={schema}"
        missing = f"{POSTGRES_URL}?schema={schema}&table=typo"
        assert run(capsys, "--store", missing, "list") == (
            1,
            "",
            f"no session store at {missing} (table {schema}.typo): nothing has been stored there\n",
        )
        seed(lambda clock: open_store(config, folder, clock))
        assert run(capsys, str(folder), "list") == (0, LISTING, "")
        assert run(capsys, "--store", url, "list") == (0, LISTING, "")
        assert run(capsys, "--store", url, "purge") == (0, "purged 2 expired sessions\n", "")
        assert run(capsys, str(folder), "delete", "bob") == (0, "deleted session bob\n", "")
        assert run(capsys, "--store", url, "show", "alice") == (
            0,
            '{\n  "id": "alice",\n  "version": 1,\n  "expiresAt": "2033-05-18T04:03:20Z",\n'
            '  "data": {\n    "user": "alice",\n    "visits": 3\n  }\n}\n',
            "",
        )
        assert run(capsys, "--store", url, "show", "bob") == (1, "", "no live session 'bob'\n")


def test_unreadable_session(workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(workflow / ".kdeps" / "sessions.db") as connection:
        connection.execute(f"INSERT INTO sessions VALUES ('bad', '{{oops', 1, {LIVE}, {LIVE + 1})")
    status, out, err = run(capsys, str(workflow), "list")
    assert (status, out.splitlines()[1], err) == (
        0,
        "bad    2033-05-18T03:33:20Z  2033-05-18T03:33:21Z  unreadable",
        "",
    )
    assert run(capsys, str(workflow), "show", "bad") == (
        1,
        "",
        "session 'bad' is unreadable: its data is not JSON\n",
    )
    assert run(capsys, str(workflow), "show", "alice")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "the following arguments are required: [WORKFLOW] ACTION [ID]", id="none"),
        pytest.param(
            ["wf"],
            "sessions: expected list, show ID, delete ID or purge, got 'nothing'",
            id="no-action",
        ),
        pytest.param(
            ["wf", "drop"],
            "sessions: expected list, show ID, delete ID or purge, got 'drop'",
            id="bad",
        ),
        pytest.param(["show"], "sessions show takes one ID", id="show-without-id"),
        pytest.param(["wf", "delete", "a", "b"], "sessions delete takes one ID", id="two-ids"),
        pytest.param(["list", "x"], "sessions list takes no argument", id="list-with-id"),
        pytest.param(
            ["--store", "memory:", "wf", "list"],
            "sessions: give a WORKFLOW or --store URL, not both",
            id="both",
        ),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sessions", *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "redis://127.0.0.1:1/0",
            "session store redis://127.0.0.1:1/0 is unreachable: "
            "Error 111 connecting to 127.0.0.1:1. Connection refused.",
            id="redis-down",
        ),
        pytest.param(
            "mysql://db/x",
            "unsupported store URL 'mysql://db/x' (use sqlite:///abs/path.db, "
            "sqlite:relative.db, memory:, redis://host:port/db or "
            "postgresql://user@host:port/database)",
            id="unknown-scheme",
        ),
        pytest.param(
            "postgresql://kdeps:secret@127.0.0.1:1/test",
            "session store postgresql://kdeps:***@127.0.0.1:1/test is unreachable: connection "
            'failed: connection to server at "127.0.0.1", port 1 failed: Connection refused',
            id="postgres-down",
        ),
        pytest.param(
            "postgresql://127.0.0.1/test?table=my-sessions",
            "session store postgresql://127.0.0.1/test?table=my-sessions: 'my-sessions' is not "
            "a usable table name (letters, digits and _, not starting with a digit, at most 52 "
            "characters)",
            id="postgres-bad-table",
        ),
        pytest.param(
            "postgresql://127.0.0.1/test?sslmode=disable&table=",
            "session store postgresql://127.0.0.1/test?sslmode=disable&table=: '' is not a "
            "usable table name (letters, digits and _, not starting with a digit, at most 52 "
            "characters)",
            id="postgres-empty-table",
        ),
        pytest.param(
            "postgresql://127.0.0.1/test?table=a&table=b",
            "session store postgresql://127.0.0.1/test?table=a&table=b: the url already names "
            "the table; give it in one place",
            id="postgres-table-twice",
        ),
    ],
)
def test_store_errors(capsys: pytest.CaptureFixture[str], url: str, message: str) -> None:
    assert run(capsys, "--store", url, "list") == (1, "", message + "\n")


def test_new_session_ids_never_read_as_an_option() -> None:
    """An id starting with ``-`` would be an option to ``sessions show ID`` or
    ``run --session-id ID``; 3,000 draws would meet one about 47 times."""
    made = [new_session_id() for _ in range(3000)]
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{42}", made_id) for made_id in made)
    assert len(set(made)) == len(made)
    assert sum(made_id.startswith("_") for made_id in made) > 0  # the rest of the alphabet stays
