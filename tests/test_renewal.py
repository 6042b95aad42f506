"""Session renewal on privilege change and the cookie's name (SPEC §7).

A request that changes a key of ``settings.session.renewOn`` commits its session under a
fresh id and deletes the old one, so an id planted before a login is worthless after it.
The login example lists ``authenticated`` and ``user``; its resources are the seed's,
unchanged. ``settings.session.cookieName`` keeps two workflows on one host from
overwriting each other's cookie.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import Server, workflow_copy
from test_server_e2e import assert_error, assert_ok, session_of

from kdeps_expr.cli import main
from kdeps_expr.errors import WorkflowError
from kdeps_expr.sessions import MemoryStore, SessionState, cookie_name, renew_keys, transact

RENEW_ON = frozenset({"authenticated", "user"})


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    memory = MemoryStore(60.0)
    yield memory
    memory.close()


def setting(**values: Any) -> Callable[[SessionState], tuple[None, bool]]:
    def work(state: SessionState) -> tuple[None, bool]:
        for key, value in values.items():
            state.set(key, value)
        return None, True

    return work


@pytest.mark.parametrize(
    ("before", "work"),
    [
        pytest.param({"authenticated": False}, setting(authenticated=True), id="changed"),
        pytest.param({"cart": []}, setting(user="ann"), id="added"),
        pytest.param({"user": "eve"}, setting(user="bob"), id="another-user"),
    ],
)
def test_a_change_of_a_renewal_key_moves_the_session_to_a_fresh_id(
    store: MemoryStore, before: dict[str, Any], work: Callable[[SessionState], tuple[None, bool]]
) -> None:
    store.save("planted", before, 0)
    _, state = transact(store, "planted", work, renew_on=RENEW_ON)
    renewed = state.existing_id
    assert renewed is not None and renewed != "planted"
    assert store.load("planted") is None
    snapshot = store.load(renewed)
    assert snapshot is not None and snapshot.data == state.data


def test_a_logout_that_clears_the_session_renews_it_too(store: MemoryStore) -> None:
    store.save("old", {"authenticated": True, "user": "ann"}, 0)

    def logout(state: SessionState) -> tuple[None, bool]:
        state.clear()
        return None, True

    _, state = transact(store, "old", logout, renew_on=RENEW_ON)
    assert state.existing_id not in (None, "old")
    assert store.load("old") is None


@pytest.mark.parametrize(
    ("before", "work", "renew_on"),
    [
        pytest.param({"user": "ann"}, setting(user="ann"), RENEW_ON, id="same-value"),
        pytest.param({"user": "ann"}, setting(cart=[1]), RENEW_ON, id="other-key"),
        pytest.param({"user": "ann"}, setting(user="bob"), frozenset(), id="no-renewOn"),
    ],
)
def test_other_changes_keep_the_id(
    store: MemoryStore,
    before: dict[str, Any],
    work: Callable[[SessionState], tuple[None, bool]],
    renew_on: frozenset[str],
) -> None:
    store.save("kept", before, 0)
    _, state = transact(store, "kept", work, renew_on=renew_on)
    assert state.existing_id == "kept"
    snapshot = store.load("kept")
    assert snapshot is not None and snapshot.data == state.data


def test_a_failed_request_renews_nothing(store: MemoryStore) -> None:
    store.save("kept", {"user": "eve"}, 0)

    def refused(state: SessionState) -> tuple[None, bool]:
        state.set("user", "bob")
        return None, False

    _, state = transact(store, "kept", refused, renew_on=RENEW_ON)
    assert state.existing_id == "kept"
    snapshot = store.load("kept")
    assert snapshot is not None and snapshot.data == {"user": "eve"}


@pytest.mark.parametrize(
    ("reader", "config", "message"),
    [
        (renew_keys, {"renewOn": 3}, "settings.session.renewOn must be a list of key names, not 3"),
        (
            renew_keys,
            {"renewOn": ["user", ""]},
            "settings.session.renewOn must be a list of key names, not ['user', '']",
        ),
        (
            cookie_name,
            {"cookieName": "my cookie"},
            "settings.session.cookieName must be a cookie name (letters, digits, "
            "!#$%&'*+.^_`|~-), not 'my cookie'",
        ),
    ],
    ids=["renewOn-number", "renewOn-empty-key", "cookieName-space"],
)
def test_malformed_settings(
    reader: Callable[[dict[str, Any]], object], config: dict[str, Any], message: str
) -> None:
    with pytest.raises(WorkflowError) as caught:
        reader(config)
    assert str(caught.value) == message


def test_settings_defaults() -> None:
    assert renew_keys({}) == frozenset()
    assert renew_keys({"renewOn": "user"}) == frozenset({"user"})
    assert cookie_name({}) == "kdeps_session_id"


# --- over HTTP, on the login example ----------------------------------------------------


def test_an_id_planted_before_the_login_is_worthless_after_it(tmp_path: Path) -> None:
    """An attacker's own session (a failed login), planted in a victim's browser."""
    with (
        Server(workflow_copy(tmp_path, "login"), tmp_path / "login.log") as login,
        login.client() as attacker,
    ):
        failed = attacker.post("/api/v1/login", json={"username": "eve", "password": "pw"})
        assert failed.json()["data"] == {"message": "Invalid credentials"}
        planted = session_of(failed)
        with login.client(cookies={"kdeps_session_id": planted}) as victim:
            logged_in = victim.post("/api/v1/login", json={"username": "admin", "password": "pw"})
            assert_ok(logged_in, {"message": "Login successful"})
            assert session_of(logged_in) != planted
            assert_ok(victim.get("/api/v1/protected"), "Hello admin, how can I help?")
        for carry in ({"X-Session-ID": planted}, {"Cookie": f"kdeps_session_id={planted}"}):
            refused = httpx.get(f"{login.url}/api/v1/protected", headers=carry, timeout=10)
            assert_error(refused, 401, "Authentication required")


def test_two_workflows_on_one_host_keep_their_own_cookies(tmp_path: Path) -> None:
    """One browser (one cookie jar: cookies do not tell ports apart) uses two workflows
    served on one host; each names its cookie, so neither overwrites the other's."""
    visits = workflow_copy(tmp_path, "visits", session={"cookieName": "visits_session"})
    login = workflow_copy(tmp_path, "login", settings={"session": {"cookieName": "login_session"}})
    with (
        Server(visits, tmp_path / "visits.log") as counter,
        Server(login, tmp_path / "login.log") as guarded,
        httpx.Client(timeout=10) as browser,
    ):
        logged_in = browser.post(
            f"{guarded.url}/api/v1/login", json={"username": "admin", "password": "pw"}
        )
        assert logged_in.headers["set-cookie"].startswith("login_session=")
        for count in (1, 2, 3):
            counted = browser.get(f"{counter.url}/api/v1/visits")
            assert counted.json()["data"]["visits"] == count
            assert counted.headers["set-cookie"].startswith("visits_session=")
        assert_ok(browser.get(f"{guarded.url}/api/v1/protected"), "Hello admin, how can I help?")
        assert browser.cookies["login_session"] == logged_in.headers["x-session-id"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'cookieName: "my cookie"',
            "settings.session.cookieName must be a cookie name (letters, digits, "
            "!#$%&'*+.^_`|~-), not 'my cookie'",
        ),
        ("renewOn: 3", "settings.session.renewOn must be a list of strings, not 3"),
    ],
    ids=["cookieName", "renewOn"],
)
def test_check_refuses_a_bad_setting_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    workflow = workflow_copy(tmp_path, "visits")
    manifest = workflow / "workflow.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("    ttl: 30m\n", f"    ttl: 30m\n    {line}\n"))
    number = text.splitlines().index("    ttl: 30m") + 2
    assert main(["check", str(workflow)]) == 1
    column = len("    ") + line.index(" ") + 2
    assert capsys.readouterr().out.startswith(
        f"{manifest}:{number}:{column}: {message}\n |     {line}\n | {'.' * (column - 1)}^\n"
    )
