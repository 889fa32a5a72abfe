"""The dashboard's browser security without a browser: login, sessions, CSRF, roles, headers,
escaping."""

from __future__ import annotations

import re

from sqlalchemy import select

from pathway.store.db import transaction
from pathway.store.models import Episode, ReminderAction
from tests.builders import open_at, send
from tests.dashboard.conftest import Board
from tests.dashboard.support import PASSWORD, csrf_of, login, post_form

XSS_NAME = "<script>alert('name')</script>"
XSS_TEXT = '<img src=x onerror="alert(1)">'
XSS_NOTE = '"><svg onload=alert(2)>'


def _open(board: Board, **overrides: object) -> Episode:
    """An episode opened on day 20 (so its plan and therapy reminders are raised at once)."""
    with transaction(board.db.sessions) as session:
        return open_at(session, day=20, **overrides)


def test_pages_send_a_logged_out_browser_to_login(board: Board) -> None:
    for path in ("/", "/episodes/1", "/reminders", "/kpis", "/pathway", "/admin"):
        response = board.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_it(board: Board) -> None:
    page = board.client.get("/login")
    response = board.client.post("/login", data={
        "username": "coord", "password": PASSWORD, "csrf_token": csrf_of(page.text),
        "next": "/kpis"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/kpis"
    cookie = response.headers["set-cookie"].lower()
    assert "pathway_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert board.client.get("/", follow_redirects=False).status_code == 200

    out = post_form(board.client, "/", "/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert board.client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_repeated_failures_are_throttled(board: Board) -> None:
    def attempt(password: str) -> int:
        page = board.client.get("/login")
        return board.client.post("/login", data={
            "username": "coord", "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False).status_code

    assert [attempt("wrong password") for _ in range(5)] == [401] * 5
    assert attempt(PASSWORD) == 429  # even the right password waits out the lock
    page = board.client.get("/login")
    late = board.client.post("/login", data={"username": "coord", "password": PASSWORD,
                                              "csrf_token": csrf_of(page.text)})
    assert late.status_code == 429 and "Too many failed attempts" in late.text
    assert int(late.headers["retry-after"]) > 0


def test_login_refuses_to_redirect_off_site(board: Board) -> None:
    page = board.client.get("/login")
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)",
                   "/\\evil.example/x"):
        response = board.client.post("/login", data={
            "username": "coord", "password": PASSWORD, "csrf_token": csrf_of(page.text),
            "next": target}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target
        board.client.cookies.clear()
        page = board.client.get("/login")


def test_a_form_post_without_the_csrf_token_is_refused(board: Board) -> None:
    episode = _open(board)
    login(board.client, "lead")  # a clinician, who may record events
    for token in (None, "", "forged-token"):
        data = {"event": "start_conservative_care"}
        if token is not None:
            data["csrf_token"] = token
        response = board.client.post(f"/episodes/{episode.id}/events", data=data,
                                     follow_redirects=False)
        assert response.status_code == 403
        assert "security token" in response.text
    with board.db.sessions() as session:
        assert session.get_one(Episode, episode.id).state == "assessed"  # nothing changed
    # The login form and the logout button are forms too.
    assert board.client.post("/logout", data={}).status_code == 403
    assert board.client.get("/", follow_redirects=False).status_code == 200


def test_a_token_from_another_session_is_refused(board: Board) -> None:
    episode = _open(board)
    login(board.client)
    stolen = csrf_of(board.client.get("/").text)
    board.client.cookies.clear()
    login(board.client, "lead")
    response = board.client.post(f"/episodes/{episode.id}/events", data={
        "event": "start_conservative_care", "csrf_token": stolen}, follow_redirects=False)
    assert response.status_code == 403


def test_a_coordinator_cannot_reach_admin_pages(board: Board) -> None:
    login(board.client, "coord")
    response = board.client.get("/admin")
    assert response.status_code == 403
    assert "boss" not in response.text  # no user list leaks
    assert 'href="/admin"' not in board.client.get("/").text


def test_an_admin_sees_users_and_key_prefixes(board: Board) -> None:
    login(board.client, "boss")
    response = board.client.get("/admin")
    assert response.status_code == 200
    for username in ("coord", "lead", "boss"):
        assert f'<td data-label="User"><b>{username}</b>' in response.text
    assert "password_hash" not in response.text and "$argon2" not in response.text


def test_security_headers_on_every_page(board: Board) -> None:
    episode = _open(board)
    login(board.client, "boss")
    pages = ["/", f"/episodes/{episode.id}", "/reminders", "/kpis", "/pathway", "/admin"]
    for path in pages:
        response = board.client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert directives["object-src"] == "'none'", path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store", path
        assert "<script>" not in response.text  # no inline script anywhere
    board.client.cookies.clear()
    assert board.client.get("/login").headers["cache-control"] == "no-store"
    static = board.client.get("/static/css/dashboard.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_free_text_is_escaped(board: Board) -> None:
    with transaction(board.db.sessions) as session:
        episode = open_at(session, day=0, patient={"mrn": "XSS0001", "name": XSS_NAME})
        send(session, episode, "record_symptom_change", 5, text=XSS_TEXT, note=XSS_NOTE)
    login(board.client)
    page = board.client.get(f"/episodes/{episode.id}").text
    reminder_id = int(re.findall(r'/reminders/(\d+)/acknowledge', page)[0])
    acked = post_form(board.client, f"/episodes/{episode.id}",
                      f"/reminders/{reminder_id}/acknowledge", {"note": XSS_NOTE})
    assert acked.status_code == 303
    assigned = post_form(board.client, f"/episodes/{episode.id}",
                         f"/reminders/{reminder_id}/assign", {"assignee": XSS_NAME})
    assert assigned.status_code == 303

    for path in (f"/episodes/{episode.id}", "/", "/reminders?view=acknowledged",
                 "/?mrn=XSS"):
        html = board.client.get(path).text
        for raw in (XSS_NAME, XSS_TEXT, XSS_NOTE):
            assert raw not in html, (path, raw)
    html = board.client.get(f"/episodes/{episode.id}").text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in html
    # The JSON for the timeline is escaped for a script block too.
    assert "</script><" not in html.split('id="timeline-data">', 1)[1].split("</script>")[0]


def test_reminder_actions_are_recorded_with_the_user_as_actor(board: Board) -> None:
    episode = _open(board)
    login(board.client)
    page = board.client.get(f"/episodes/{episode.id}").text
    reminder_id = int(re.findall(r'/reminders/(\d+)/acknowledge', page)[0])
    post_form(board.client, f"/episodes/{episode.id}", f"/reminders/{reminder_id}/acknowledge",
              {"note": "called the ward", "next": f"/episodes/{episode.id}"})
    with board.db.sessions() as session:
        actions = session.scalars(select(ReminderAction).where(
            ReminderAction.reminder_id == reminder_id,
            ReminderAction.action == "acknowledged")).all()
    assert [(a.actor, a.detail) for a in actions] == [
        ("user:coord", {"note": "called the ward"})]
