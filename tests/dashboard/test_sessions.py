"""Server-side sessions: a logout, a password change, a deactivation or an administrator
ends a session at once, a copied cookie included, in every process; idle and absolute
timeouts; a login never reuses the session it came with; the throttle is shared by
processes and cannot lock a user out from another address."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pathway import access
from pathway.store.db import transaction
from pathway.store.models import AdminRecord, LoginFailure, WebSession
from pathway.throttle import ThrottlePolicy
from scheduler.jobs import SESSION_KEEP, purge_sessions
from tests.dashboard.conftest import Board
from tests.dashboard.support import PASSWORD, csrf_of, login, make_app, make_runtime, post_form

NEW_PASSWORD = "staple battery horse correct"


def _copy(board: Board) -> TestClient:
    """A second browser holding a copy of the first one's session cookie."""
    thief = TestClient(board.client.app)
    thief.cookies.set("pathway_session", board.client.cookies["pathway_session"])
    return thief


def _in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def _sessions(board: Board) -> list[WebSession]:
    with board.db.sessions() as session:
        return list(session.scalars(select(WebSession).order_by(WebSession.id)))


def test_logout_ends_the_session_for_a_copied_cookie_too(board: Board) -> None:
    login(board.client)
    thief = _copy(board)
    assert _in(thief)
    post_form(board.client, "/", "/logout", {})
    assert not _in(board.client) and not _in(thief)
    ended = [s for s in _sessions(board) if s.user_id is not None]
    assert [(s.end_reason, s.ended_at) for s in ended] == [("logout", board.clock())]


def test_the_cookie_holds_only_a_random_token_whose_hash_is_stored(board: Board) -> None:
    login(board.client)
    token = board.client.cookies["pathway_session"]
    assert len(token) >= 40 and "coord" not in token
    stored = _sessions(board)
    assert all(token not in (s.token_hash, str(s.data)) for s in stored)
    assert len({s.token_hash for s in stored}) == len(stored)


def test_a_login_starts_a_new_session(board: Board) -> None:
    board.client.get("/login")
    before = board.client.cookies["pathway_session"]  # the anonymous one, with the form's token
    login(board.client)
    after = board.client.cookies["pathway_session"]
    assert after != before
    fixated = TestClient(board.client.app)
    fixated.cookies.set("pathway_session", before)
    assert not _in(fixated)  # an attacker who planted the first cookie gets nothing


def test_a_password_change_and_a_deactivation_end_every_session_of_the_user(
        board: Board) -> None:
    login(board.client)
    other = TestClient(board.client.app)
    login(other)
    with transaction(board.db.sessions) as session:
        access.set_password(session, username="coord", password=NEW_PASSWORD,
                            now=board.clock(), actor="user:boss")
    assert not _in(board.client) and not _in(other)
    login_again = board.client.post("/login", data={
        "username": "coord", "password": NEW_PASSWORD,
        "csrf_token": csrf_of(board.client.get("/login").text)}, follow_redirects=False)
    assert login_again.status_code == 303 and _in(board.client)
    with transaction(board.db.sessions) as session:
        access.set_active(session, username="coord", active=False, now=board.clock(),
                          actor="user:boss")
    assert not _in(board.client)
    with board.db.sessions() as session:
        log = session.scalars(select(AdminRecord).order_by(AdminRecord.id)).all()
        assert [(r.actor, r.action, r.target, r.detail) for r in log] == [
            ("user:boss", "user.password", "coord", {"sessions_ended": 2}),
            ("user:boss", "user.deactivate", "coord", {"sessions_ended": 1})]


def test_a_session_ends_after_the_idle_time_and_at_its_time_limit(board: Board) -> None:
    login(board.client)
    idle = dt.timedelta(minutes=board.runtime.settings.session_idle_minutes)
    for _ in range(3):  # in use: every request within the idle time keeps it going
        board.clock.now += idle - dt.timedelta(minutes=1)
        assert _in(board.client)
    board.clock.now += idle
    page = board.client.get("/", follow_redirects=True)
    assert "without activity" in page.text  # the login page says why
    assert [s.end_reason for s in _sessions(board) if s.user_id] == ["idle"]

    login(board.client)
    limit = dt.timedelta(hours=board.runtime.settings.session_hours)
    start = board.clock.now
    while board.clock.now + idle / 2 < start + limit:
        board.clock.now += idle / 2
        assert _in(board.client)
    board.clock.now = start + limit
    assert not _in(board.client)
    assert [s.end_reason for s in _sessions(board) if s.user_id] == ["idle", "expired"]


def test_another_process_sees_the_same_sessions(board: Board) -> None:
    """Two apps on one database (two API processes behind a load balancer): a login on one
    holds on the other, and a logout on one ends it on both; no shared secret needed."""
    second = TestClient(make_app(make_runtime(board.db, board.clock)))
    login(board.client)
    second.cookies.set("pathway_session", board.client.cookies["pathway_session"])
    assert _in(second)
    post_form(second, "/", "/logout", {})
    assert not _in(board.client)  # still holding the token that was logged out on the other


def test_the_throttle_is_shared_and_cannot_lock_a_user_out_from_elsewhere(
        board: Board) -> None:
    second = TestClient(make_app(make_runtime(board.db, board.clock)))

    def attempt(client: TestClient, password: str) -> int:
        page = client.get("/login")
        return client.post("/login", data={"username": "coord", "password": password,
                                           "csrf_token": csrf_of(page.text)},
                           follow_redirects=False).status_code

    # Failures on two processes add up: 3 on one and 2 on the other reach the limit of 5.
    assert [attempt(board.client, "wrong") for _ in range(3)] == [401] * 3
    assert [attempt(second, "wrong") for _ in range(2)] == [401] * 2
    assert attempt(board.client, PASSWORD) == 429 and attempt(second, PASSWORD) == 429
    # From another address the user logs in: the guesser's failures are not theirs.
    elsewhere = TestClient(board.client.app, client=("10.1.2.3", 50000))
    assert attempt(elsewhere, PASSWORD) == 303
    # The pair waits out the window, then may try again.
    board.clock.now += ThrottlePolicy().window
    assert attempt(board.client, PASSWORD) == 303


def test_housekeeping_deletes_old_sessions_and_failures_only(board: Board) -> None:
    login(board.client)
    post_form(board.client, "/", "/logout", {})
    board.client.post("/login", data={"username": "coord", "password": "wrong",
                                      "csrf_token": csrf_of(board.client.get("/login").text)})
    going = TestClient(board.client.app)
    login(going, "lead")

    def counts() -> tuple[int, int]:
        with board.db.sessions() as session:
            return (int(session.scalar(select(func.count()).select_from(WebSession)) or 0),
                    int(session.scalar(select(func.count()).select_from(LoginFailure)) or 0))

    rows, failures = counts()
    assert rows >= 3 and failures == 2  # the pair's and the address's
    assert purge_sessions(board.runtime, now=board.clock()) == 0  # all too recent
    # An hour on: the failures no longer count; every session is kept (a day after it ends).
    assert purge_sessions(board.runtime, now=board.clock() + dt.timedelta(hours=1)) == 2
    assert counts() == (rows, 0)
    assert _in(going)
    # A day after the last one expired (8 hours after its login), none is left.
    late = board.clock() + dt.timedelta(hours=8) + SESSION_KEEP + dt.timedelta(seconds=1)
    assert purge_sessions(board.runtime, now=late) == rows
    assert counts() == (0, 0)
