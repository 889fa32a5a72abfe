"""The coordinators' worklist, second pass (issue 14): the most pressing patient first with
the reason shown, the episode page's banner, snoozed reminders waiting, search by name or
MRN with a total, coordinators recording their own work, assignment to real users only."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from pathway.store.db import transaction
from pathway.store.models import Episode, Reminder, ReminderAction
from tests.builders import DAY0, open_at, send
from tests.dashboard.conftest import Board
from tests.dashboard.support import login, post_form


def _open(board: Board, mrn: str, name: str, days_before: int = 0) -> Episode:
    with transaction(board.db.sessions) as session:
        ep = open_at(session, day=20, patient={"mrn": mrn, "name": name},
                     identified_on=(DAY0 - dt.timedelta(days=days_before)).isoformat())
        send(session, ep, "start_conservative_care", 20)
        return ep


def _stat(board: Board, episode: Episode) -> None:
    with transaction(board.db.sessions) as session:
        send(session, session.get(Episode, episode.id), "record_neuro_change", 20,
             findings=["motor_weakness"])


def _patients(html: str) -> list[str]:
    """The patients' names on the worklist, in order."""
    return re.findall(r'<td data-label="Patient" class="patient">'
                      r'<a href="/episodes/\d+"(?: id="first-patient")?>([^<]+)</a>', html)


def _reminder(board: Board, episode: Episode, kind: str) -> Reminder:
    with board.db.sessions() as session:
        found = session.scalar(select(Reminder).where(Reminder.episode_id == episode.id,
                                                      Reminder.kind == kind))
        assert found is not None
        return found


def test_a_stat_patient_comes_first_marked_and_explained(board: Board) -> None:
    _open(board, "LATE1", "Very Late", days_before=60)  # the most overdue milestone
    quiet = _open(board, "NEW1", "Brand New")
    _stat(board, quiet)
    login(board.client)
    page = board.client.get("/").text
    assert _patients(page)[0] == "Brand New"
    first_row = page.split('<tbody>')[1].split('</tr>')[0]
    assert 'class="is-stat"' in first_row and "flag-stat" in first_row
    assert "Urgent surgical review" in first_row
    assert "act today" in page  # the order is explained once, above the rows


def test_the_episode_page_opens_with_a_banner_for_a_stat_reminder(board: Board) -> None:
    ep = _open(board, "S1", "Stat Patient")
    _stat(board, ep)
    login(board.client)
    page = board.client.get(f"/episodes/{ep.id}").text
    banner = page.index('class="banner banner-stat"')
    assert banner < page.index('id="intake-h"') and banner < page.index('id="timeline-h"')
    assert 'role="alert"' in page[banner - 200:banner + 200]
    stat = _reminder(board, ep, "urgent_surgical_review")
    assert f'href="#reminder-{stat.id}"' in page


def test_a_snoozed_reminder_waits_and_the_row_says_until_when(board: Board) -> None:
    ep = _open(board, "Z1", "Snoozy Patient")
    other = _open(board, "Z2", "Other Patient", days_before=10)
    _stat(board, ep)
    stat = _reminder(board, ep, "urgent_surgical_review")
    login(board.client)
    assert _patients(board.client.get("/").text)[0] == "Snoozy Patient"
    until = (DAY0 + dt.timedelta(days=23)).isoformat()
    response = post_form(board.client, f"/episodes/{ep.id}", f"/reminders/{stat.id}/snooze",
                         {"until": until, "reason": "seen in clinic", "next": f"/episodes/{ep.id}"})
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"#reminder-{stat.id}")  # back at the reminder
    page = board.client.get("/").text
    names = _patients(page)
    assert names.index("Other Patient") < names.index("Snoozy Patient")
    assert f"snoozed until {until}" in page
    assert other.id  # both listed


def test_search_by_name_or_mrn_with_a_total(board: Board) -> None:
    _open(board, "MRN0042", "SMITH, John")
    _open(board, "MRN0777", "Jones, Ada")
    login(board.client)
    assert "<b>2</b> episodes open" in board.client.get("/").text
    found = board.client.get("/?q=smi").text
    assert _patients(found) == ["SMITH, John"] and "<b>1</b> episode match" in found
    assert _patients(board.client.get("/?q=0777").text) == ["Jones, Ada"]
    assert _patients(board.client.get("/?mrn=mrn0").text) == ["SMITH, John", "Jones, Ada"] or \
        sorted(_patients(board.client.get("/?mrn=mrn0").text)) == ["Jones, Ada", "SMITH, John"]
    assert "No episodes match" in board.client.get("/?q=nobody").text


def test_a_coordinator_records_liaison_work_but_not_fracture_care(board: Board) -> None:
    ep = _open(board, "C1", "Coord Patient")
    login(board.client, "coord")
    page = board.client.get(f"/episodes/{ep.id}").text
    assert 'value="record_contact"' in page and 'value="record_therapy"' in page
    assert 'value="record_reassessment"' not in page and 'id="not-permitted"' in page
    done = post_form(board.client, f"/episodes/{ep.id}", f"/episodes/{ep.id}/events",
                     {"event": "record_contact", "data.kind": "liaison_monitoring"})
    assert done.status_code == 303, done.text
    refused = post_form(board.client, f"/episodes/{ep.id}", f"/episodes/{ep.id}/events",
                        {"event": "record_reassessment", "data.pain_score": "3",
                         "data.symptoms": "improving"})
    assert refused.status_code == 403
    with board.db.sessions() as session:
        assert session.get(Episode, ep.id).state == "conservative_care"  # type: ignore[union-attr]


def test_assignment_takes_real_users_only_and_can_be_undone(board: Board) -> None:
    ep = _open(board, "A1", "Assign Patient")
    _stat(board, ep)
    stat = _reminder(board, ep, "urgent_surgical_review")
    login(board.client, "coord")
    page = f"/episodes/{ep.id}"
    back = {"next": page}
    refused = post_form(board.client, page, f"/reminders/{stat.id}/assign",
                        {"assignee": "nosuchuser", **back})
    assert refused.status_code == 303
    assert "no active user named" in board.client.get(page).text
    assert _reminder(board, ep, "urgent_surgical_review").assigned_to is None
    mine = post_form(board.client, page, f"/reminders/{stat.id}/assign",
                     {"assignee": "coord", **back})
    assert mine.status_code == 303
    assert _reminder(board, ep, "urgent_surgical_review").assigned_to == "coord"
    listed = board.client.get("/?assigned=coord").text
    assert _patients(listed) == ["Assign Patient"]
    assert _patients(board.client.get("/?assigned=lead").text) == []
    post_form(board.client, page, f"/reminders/{stat.id}/unassign", back)
    assert _reminder(board, ep, "urgent_surgical_review").assigned_to is None
    with board.db.sessions() as session:
        steps = list(session.scalars(select(ReminderAction.action).where(
            ReminderAction.reminder_id == stat.id, ReminderAction.action.like("%assigned"))))
        assert steps == ["assigned", "unassigned"]
        assert session.scalar(select(func.count()).select_from(ReminderAction).where(
            ReminderAction.detail["assignee"].as_string() == "nosuchuser")) == 0


def test_the_assignment_lists_offer_users_not_free_text(board: Board) -> None:
    ep = _open(board, "L1", "List Patient")
    _stat(board, ep)
    login(board.client, "coord")
    page = board.client.get(f"/episodes/{ep.id}").text
    assert re.search(r'<select id="assign-to-\d+" name="assignee"', page)
    assert '<option value="lead" >Lead</option>' in page  # a clinician may act on reminders
    worklist = board.client.get("/").text
    assert '<option value="coord"' in worklist and '<option value="boss"' in worklist
