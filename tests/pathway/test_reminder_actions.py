"""Reminder use cases without HTTP: acknowledge, snooze, assign, list, and their refusals."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.reminder_actions import (
    ReminderCursor,
    ReminderFilter,
    acknowledge,
    assign,
    list_reminders,
    reminder_history,
    snooze,
    unassign,
)
from pathway.store.models import User
from tests.builders import UTC, at, open_at, send

PARIS = ZoneInfo("Europe/Paris")


def _overdue(session: Session) -> list[int]:
    episode = open_at(session, day=20)  # plan, therapy and calcium reminders raised at once
    rows, _ = list_reminders(session, where=ReminderFilter(episode_id=episode.id))
    return [r.id for r in rows]


def test_snooze_wakes_at_the_start_of_the_day_in_the_site_zone(session: Session) -> None:
    reminder_id = _overdue(session)[0]
    reminder = snooze(session, reminder_id=reminder_id, until=dt.date(2026, 3, 30),
                      reason="waiting for the MRI", actor="u", now=at(20), zone=PARIS)
    assert reminder.status == "snoozed"
    assert reminder.snoozed_until == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)  # CEST
    assert reminder.escalate_at is not None
    assert reminder.escalate_at >= reminder.snoozed_until + dt.timedelta(days=7)


@pytest.mark.parametrize(("until", "reason", "field"), [
    (dt.date(2026, 3, 22), "x", "until"),  # today (day 20)
    (dt.date(2026, 3, 1), "x", "until"),
    (dt.date(2027, 3, 23), "x", "until"),  # over a year ahead
    (dt.date(2026, 3, 25), "   ", "reason"),
])
def test_snooze_refuses(session: Session, until: dt.date, reason: str, field: str) -> None:
    reminder_id = _overdue(session)[0]
    with pytest.raises(InvalidData) as refused:
        snooze(session, reminder_id=reminder_id, until=until, reason=reason, actor="u",
               now=at(20), zone=UTC)
    assert refused.value.field == field


def _colleague(session: Session, name: str = "sam", role: str = "coordinator",
               active: bool = True) -> None:
    """A user reminders may be assigned to (assignment takes active staff only)."""
    session.add(User(username=name, password_hash="!", role=role, active=active,
                     created_at=at(0)))
    session.flush()


def test_acknowledge_stops_escalation_and_keeps_history(session: Session) -> None:
    _colleague(session)
    reminder_id = _overdue(session)[0]
    snooze(session, reminder_id=reminder_id, until=dt.date(2026, 3, 25), reason="later",
           actor="a", now=at(20), zone=UTC)
    assign(session, reminder_id=reminder_id, assignee=" sam ", actor="b", now=at(21))
    reminder = acknowledge(session, reminder_id=reminder_id, actor="c", now=at(22),
                           note="done")
    assert (reminder.status, reminder.escalate_at, reminder.snoozed_until) == (
        "acknowledged", None, None)
    assert reminder.assigned_to == "sam" and reminder.acknowledged_by == "c"
    history = [(a.action, a.actor) for a in reminder_history(session, reminder_id)]
    assert history == [("raised", "system:scheduler"), ("snoozed", "a"), ("assigned", "b"),
                       ("acknowledged", "c")]


def test_assignment_takes_active_staff_only_and_can_be_undone(session: Session) -> None:
    _colleague(session, "gone", active=False)
    _colleague(session, "epr", role="integration")
    _colleague(session, "sam")
    reminder_id = _overdue(session)[0]
    for nobody in ("nosuchuser", "gone", "epr", " "):
        with pytest.raises(InvalidData) as refused:
            assign(session, reminder_id=reminder_id, assignee=nobody, actor="u", now=at(20))
        assert refused.value.field == "assignee"
    assign(session, reminder_id=reminder_id, assignee="sam", actor="u", now=at(20))
    reminder = unassign(session, reminder_id=reminder_id, actor="v", now=at(21))
    assert reminder.assigned_to is None
    history = [(a.action, a.detail) for a in reminder_history(session, reminder_id)]
    assert history[-2:] == [("assigned", {"assignee": "sam", "previous": None}),
                            ("unassigned", {"assignee": None, "previous": "sam"})]


def test_resolved_reminders_refuse_every_action(session: Session) -> None:
    _colleague(session)
    episode = open_at(session, day=5)
    plan_id = list_reminders(session, where=ReminderFilter(kind="plan_overdue"))[0][0].id
    send(session, episode, "start_conservative_care", 5)
    for action in (
        lambda: acknowledge(session, reminder_id=plan_id, actor="u", now=at(6)),
        lambda: snooze(session, reminder_id=plan_id, until=dt.date(2026, 4, 1), reason="r",
                       actor="u", now=at(6), zone=UTC),
        lambda: assign(session, reminder_id=plan_id, assignee="sam", actor="u", now=at(6)),
        lambda: unassign(session, reminder_id=plan_id, actor="u", now=at(6)),
    ):
        with pytest.raises(ActionRefused):
            action()
    with pytest.raises(NotFound):
        acknowledge(session, reminder_id=2**40, actor="u", now=at(6))


def test_list_orders_by_priority_then_due_day_and_pages(session: Session) -> None:
    _overdue(session)
    send(session, open_at(session, day=20), "record_neuro_change", 20,
         findings=["sensory_deficit"])
    everything, cursor = list_reminders(session)
    assert cursor is None
    assert [r.priority for r in everything] == ["stat", "urgent", "urgent"] + ["routine"] * 4
    first, cursor = list_reminders(session, limit=3)
    assert cursor is not None
    rest, end = list_reminders(session, limit=10, after=ReminderCursor.decode(cursor.encode()))
    assert [r.id for r in first + rest] == [r.id for r in everything] and end is None
    assert list_reminders(session, where=ReminderFilter(coordinator="nobody"))[0] == []
    unresolved, _ = list_reminders(session, where=ReminderFilter(unresolved=True))
    assert len(unresolved) == len(everything)
    with pytest.raises(ValueError):
        ReminderCursor.decode("9|2026-01-01|1")
