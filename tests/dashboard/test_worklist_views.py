"""Finding and acting (issue 14): sortable columns, a CSV export of the current view (audited),
saved views per user, bulk acknowledge / snooze / assign with one confirmation, and the
reminders page searchable by name or MRN, on both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import func, select

from api.dashboard.worklist_views import COLUMNS
from pathway.store.db import transaction
from pathway.store.models import AccessRecord, Episode, Reminder, ReminderAction, SavedView
from tests.builders import DAY0, open_at, send
from tests.dashboard.conftest import Board
from tests.dashboard.support import csrf_of, login, post_form


def _open(board: Board, mrn: str, name: str, days_before: int = 0) -> Episode:
    with transaction(board.db.sessions) as session:
        return open_at(session, day=20, patient={"mrn": mrn, "name": name},
                       identified_on=(DAY0 - dt.timedelta(days=days_before)).isoformat())


def _mrns(html: str) -> list[str]:
    return re.findall(r'<small>MRN ([^ <]+) ·', html)


def test_columns_sort_both_ways_and_keep_the_filters(board: Board) -> None:
    _open(board, "B2", "Bravo", 5)
    _open(board, "A1", "Alpha", 1)
    _open(board, "C3", "Charlie", 9)
    login(board.client)
    assert _mrns(board.client.get("/?sort=name").text) == ["A1", "B2", "C3"]
    assert _mrns(board.client.get("/?sort=name&desc=1").text) == ["C3", "B2", "A1"]
    assert _mrns(board.client.get("/?sort=day").text) == ["C3", "B2", "A1"]  # oldest day 0
    page = board.client.get("/?sort=name&q=a").text
    assert _mrns(page) == ["A1", "B2", "C3"]  # all three contain an "a"
    header = re.search(r'<th scope="col"[^>]*aria-sort="ascending"[^>]*>(.*?)</th>', page, re.S)
    assert header and "Patient" in header.group(1)
    assert 'href="/?q=a&amp;sort=name&amp;desc=1"' in page  # again: the other way
    assert _mrns(board.client.get("/?sort=nonsense").text)  # unknown sort: the default order


def test_sorted_pages_walk_every_episode_once(board: Board) -> None:
    for i in range(30):
        _open(board, f"P{i:02d}", f"Patient {i:02d}", i % 7)
    login(board.client)
    seen, url = [], "/?sort=name"
    while url:
        html = board.client.get(url).text
        seen += _mrns(html)
        found = re.search(r'href="(/\?[^"]*page=\d+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == [f"P{i:02d}" for i in range(30)]


def test_the_csv_export_is_the_view_and_is_audited(board: Board) -> None:
    _open(board, "X1", "Smith, Ann", 3)
    _open(board, "X2", "Jones, Bob")
    login(board.client)
    response = board.client.get("/worklist.csv?q=smith")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 2
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["mrn"] == "X1" and row["state"] == "assessed"
    assert row["day_0"] == (DAY0 - dt.timedelta(days=3)).isoformat()
    assert row["needs"].endswith("_overdue") and row["needs_priority"] == "urgent"  # codes
    with board.db.sessions() as session:
        entries = list(session.scalars(select(AccessRecord).where(
            AccessRecord.what == "worklist_export")))
        assert [(e.actor, e.episode_id) for e in entries] == [("user:coord", 1)]
        assert entries[0].patient_id is not None  # found by a query by patient
    everything = list(csv.reader(io.StringIO(board.client.get("/worklist.csv").text)))
    assert len(everything) == 3


def test_a_saved_view_is_the_users_own_and_opens_its_filters(board: Board) -> None:
    login(board.client, "coord")
    saved = post_form(board.client, "/", "/views", {
        "name": "  My   urgent ", "query": "priority=urgent&sort=day&evil=1&state=nope"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/?priority=urgent&sort=day"
    page = board.client.get("/").text
    assert 'href="/?priority=urgent&amp;sort=day" class="chip">My urgent</a>' in page
    refused = post_form(board.client, "/", "/views", {"name": "", "query": ""})
    assert refused.status_code == 303
    assert "name: give 1 to 60 characters" in board.client.get("/").text
    with board.db.sessions() as session:
        view = session.scalar(select(SavedView))
        assert view is not None and (view.username, view.name) == ("coord", "My urgent")
    other = board.client
    login(other, "lead")
    assert "My urgent" not in other.get("/").text  # another user's view is not listed
    gone = post_form(other, "/", f"/views/{view.id}/delete", {})
    assert gone.status_code == 303
    with board.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SavedView)) == 1  # not theirs


def _plan_reminders(board: Board, count: int) -> list[int]:
    ids = []
    for i in range(count):
        episode = _open(board, f"R{i}", f"Remi {i}", 5)
        with board.db.sessions() as session:
            ids.append(session.scalars(select(Reminder.id).where(
                Reminder.episode_id == episode.id, Reminder.kind == "plan_overdue")).one())
    return ids


def test_bulk_acknowledge_with_one_confirmation_each_with_its_history(board: Board) -> None:
    ids = _plan_reminders(board, 3)
    login(board.client, "coord")
    page = board.client.get("/reminders").text
    assert all(f'name="ids" value="{i}"' in page for i in ids)
    form = {"action": "acknowledge", "note": "called all three", "next": "/reminders",
            "csrf_token": csrf_of(page)}
    review = board.client.post("/reminders/bulk", data={**form, "ids": [str(i) for i in ids]})
    assert review.status_code == 200 and "Acknowledge 3 reminders?" in review.text
    assert all(f"Remi {i}" in review.text for i in range(3))
    chosen = select(Reminder.status).where(Reminder.id.in_(ids))
    with board.db.sessions() as session:  # nothing yet
        assert set(session.scalars(chosen)) == {"open"}
    confirm = board.client.post("/reminders/bulk/apply", data={
        **form, "csrf_token": csrf_of(review.text), "ids": [str(i) for i in ids]},
        follow_redirects=False)
    assert confirm.status_code == 303
    assert "3 reminders acknowledged." in board.client.get("/reminders").text
    with board.db.sessions() as session:
        assert set(session.scalars(chosen)) == {"acknowledged"}
        per_reminder = session.execute(select(ReminderAction.reminder_id, func.count()).where(
            ReminderAction.action == "acknowledged").group_by(ReminderAction.reminder_id)).all()
        assert sorted(per_reminder) == [(i, 1) for i in sorted(ids)]


def test_bulk_snooze_and_assign_report_what_could_not_be_done(board: Board) -> None:
    ids = _plan_reminders(board, 2)
    with transaction(board.db.sessions) as session:  # one is resolved meanwhile
        resolved = session.get_one(Reminder, ids[1])
        send(session, session.get_one(Episode, resolved.episode_id), "start_conservative_care",
             20)
    login(board.client, "coord")
    page = board.client.get("/reminders").text
    until = (DAY0 + dt.timedelta(days=25)).isoformat()
    after = board.client.post("/reminders/bulk/apply", data={
        "action": "snooze", "until": until, "reason": "clinic next week", "next": "/reminders",
        "csrf_token": csrf_of(page), "ids": [str(i) for i in ids]}).text  # redirect followed
    assert "1 reminder snoozed; 1 could not be" in after and f"reminder {ids[1]}" in after
    with board.db.sessions() as session:
        assert session.get_one(Reminder, ids[0]).status == "snoozed"
    refused = board.client.post("/reminders/bulk", data={
        "action": "assign", "assignee": "nosuchuser", "next": "/reminders",
        "csrf_token": csrf_of(after), "ids": [str(ids[0])]}, follow_redirects=True)
    board.client.post("/reminders/bulk/apply", data={
        "action": "assign", "assignee": "nosuchuser", "next": "/reminders",
        "csrf_token": csrf_of(refused.text), "ids": [str(ids[0])]})
    with board.db.sessions() as session:
        assert session.get_one(Reminder, ids[0]).assigned_to is None
    bad = board.client.post("/reminders/bulk", data={
        "action": "snooze", "next": "/reminders", "csrf_token": csrf_of(refused.text),
        "ids": ["1", "x"]}, follow_redirects=True)
    assert "Nothing was changed" in bad.text


def test_a_clinician_may_not_bulk_assign(board: Board) -> None:
    ids = _plan_reminders(board, 1)
    login(board.client, "lead")
    page = board.client.get("/reminders").text
    response = board.client.post("/reminders/bulk", data={
        "action": "assign", "assignee": "coord", "csrf_token": csrf_of(page),
        "ids": [str(ids[0])]})
    assert response.status_code == 403


def test_the_reminders_page_searches_by_name_or_mrn_and_shows_both(board: Board) -> None:
    _plan_reminders(board, 2)
    login(board.client, "coord")
    page = board.client.get("/reminders?q=remi 1").text
    assert "Remi 1" in page and "Remi 0" not in page and "MRN R1" in page
    assert "Remi 0" in board.client.get("/reminders?q=r0").text
