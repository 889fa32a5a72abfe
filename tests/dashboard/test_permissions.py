"""The dashboard gives each role the rights of `pathway.permissions` (the API's): the forms a
role may not use are not shown, and posting them anyway gets 403 and changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from pathway.outbox import DEAD, PENDING
from pathway.permissions import LIAISON_EVENTS
from pathway.store.db import transaction
from pathway.store.models import Delivery, Episode, EventRecord, Reminder
from tests.builders import open_at
from tests.dashboard.conftest import Board
from tests.dashboard.support import login, post_form

NO_EVENTS = "cannot record fracture-care events or clinical findings."


def _open(board: Board) -> Episode:
    with transaction(board.db.sessions) as session:
        return open_at(session, day=20)


def _event_count(board: Board, episode_id: int) -> int:
    with board.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(EventRecord).where(
            EventRecord.episode_id == episode_id)) or 0


def _switch(board: Board, username: str) -> None:
    board.client.cookies.clear()
    login(board.client, username)


def test_a_coordinator_sees_only_the_liaison_forms_and_may_not_post_fracture_care(
        board: Board) -> None:
    episode = _open(board)
    page = f"/episodes/{episode.id}"
    before = _event_count(board, episode.id)
    login(board.client, "coord")
    html = board.client.get(page).text
    forms = set(re.findall(r'data-event="([a-z_]+)"', html))
    assert forms and forms <= LIAISON_EVENTS  # contacts, therapy, the liaison data set
    assert "start_conservative_care" not in forms and 'id="not-permitted"' in html
    refused = post_form(board.client, page, f"/episodes/{episode.id}/events",
                        {"event": "start_conservative_care", "data.note": "tried"})
    assert refused.status_code == 403
    assert f"Your role (coordinator) {NO_EVENTS}" in refused.text
    with board.db.sessions() as session:
        row = session.get_one(Episode, episode.id)
        assert (row.state, row.version) == ("assessed", 1)
    assert _event_count(board, episode.id) == before


def test_a_clinician_sees_the_event_forms_and_records_an_event(board: Board) -> None:
    episode = _open(board)
    page = f"/episodes/{episode.id}"
    login(board.client, "lead")
    html = board.client.get(page).text
    assert "start_conservative_care" in re.findall(r'data-event="([a-z_]+)"', html)
    assert NO_EVENTS not in html
    done = post_form(board.client, page, f"/episodes/{episode.id}/events",
                     {"event": "start_conservative_care"})
    assert done.status_code == 303
    with board.db.sessions() as session:
        assert session.get_one(Episode, episode.id).state == "conservative_care"


def test_only_an_admin_may_retry_a_dead_letter(board: Board) -> None:
    with transaction(board.db.sessions) as session:
        dead = Delivery(delivery_key="perm-dead-1", topic="reminder.raised", channel="webhook",
                        target="1", payload={}, status=DEAD, attempts=8,
                        last_error="refused", created_at=board.clock())
        session.add(dead)
    retry = f"/deliveries/{dead.id}/retry"
    for username in ("coord", "lead"):
        _switch(board, username)
        html = board.client.get("/reminders").text
        assert "refused" in html and retry not in html, username
        assert post_form(board.client, "/reminders", retry, {}).status_code == 403, username
        with board.db.sessions() as session:
            assert session.get_one(Delivery, dead.id).status == DEAD, username
    _switch(board, "boss")
    assert retry in board.client.get("/reminders").text
    assert post_form(board.client, "/reminders", retry, {}).status_code == 303
    with board.db.sessions() as session:
        assert session.get_one(Delivery, dead.id).status == PENDING


def test_reminder_rights_match_the_api(board: Board) -> None:
    """Acknowledge and snooze: coordinator, clinician, admin; assign: coordinator and admin."""
    episode = _open(board)
    page = f"/episodes/{episode.id}"
    _switch(board, "lead")
    html = board.client.get(page).text
    ids = [int(x) for x in re.findall(r"/reminders/(\d+)/acknowledge", html)]
    assert len(ids) >= 2 and "/assign" not in html
    assert post_form(board.client, page, f"/reminders/{ids[0]}/acknowledge",
                     {"note": "seen"}).status_code == 303
    refused = post_form(board.client, page, f"/reminders/{ids[1]}/assign", {"assignee": "lead"})
    assert refused.status_code == 403 and "cannot assign reminders" in refused.text
    _switch(board, "coord")
    assert f"/reminders/{ids[1]}/assign" in board.client.get(page).text
    assert post_form(board.client, page, f"/reminders/{ids[1]}/assign",
                     {"assignee": "lead"}).status_code == 303
    with board.db.sessions() as session:
        first, second = session.get_one(Reminder, ids[0]), session.get_one(Reminder, ids[1])
        assert (first.status, first.acknowledged_by) == ("acknowledged", "user:lead")
        assert second.assigned_to == "lead"
