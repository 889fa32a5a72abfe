"""What people do with reminders: list them, acknowledge, snooze, assign and unassign.

The integration API and the dashboard call these same use cases. Each action takes `now` and
an actor, keeps a `ReminderAction` history row, flushes and never commits. A resolved reminder
is history: it cannot be acknowledged, snoozed or assigned (`ActionRefused`). The reads (one
reminder, locked for an action; filtered pages and their cursor; a reminder's history) are
`pathway.store.reminder_actions`, whose `list_reminders`, `ReminderFilter` and
`ReminderCursor` this module re-exports.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pathway.clock import day_start, local_day
from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.permissions import Action, may
from pathway.reminders import record_action
from pathway.store import reminder_actions as store
from pathway.store.models import Reminder, ReminderAction
from pathway.store.reminder_actions import MAX_ID as MAX_ID
from pathway.store.reminder_actions import PRIORITY_RANK as PRIORITY_RANK
from pathway.store.reminder_actions import ReminderCursor as ReminderCursor
from pathway.store.reminder_actions import ReminderFilter as ReminderFilter
from pathway.store.reminder_actions import list_reminders as list_reminders
from pathway.store.users import active_user
from pathway.store.versions import load_definition
from pathway.vocabulary import ReminderStatus

MAX_SNOOZE_DAYS = 365


def get_reminder(session: Session, reminder_id: int) -> Reminder:
    """One reminder or NotFound."""
    reminder = store.reminder(session, reminder_id)
    if reminder is None:
        raise NotFound("reminder", reminder_id)
    return reminder


def reminder_history(session: Session, reminder_id: int) -> list[ReminderAction]:
    """Every raise, delivery, acknowledgement, snooze, assignment and resolution, oldest first."""
    get_reminder(session, reminder_id)
    return store.history(session, reminder_id)


def _live(session: Session, reminder_id: int, action: str) -> Reminder:
    # Locked (PostgreSQL) until the transaction ends: an event that resolves this reminder at
    # the same moment either waits for this action, or commits first and is seen here (the
    # action is refused); without the lock a late acknowledge or snooze revived a resolved
    # reminder (found by tests/faults/test_races.py).
    reminder = store.locked_reminder(session, reminder_id)
    if reminder is None:
        raise NotFound("reminder", reminder_id)
    if reminder.status == ReminderStatus.RESOLVED:
        raise ActionRefused(action, f"reminder {reminder_id}", reminder.status,
                            f"it was resolved ({reminder.resolution or 'no longer applies'})")
    return reminder


def _text(field: str, value: str | None, *, required: bool, max_length: int) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidData(field, "is required")
        return None
    if len(text) > max_length:
        raise InvalidData(field, f"must be at most {max_length} characters")
    return text


def acknowledge(
    session: Session, *, reminder_id: int, actor: str, now: dt.datetime, note: str | None = None
) -> Reminder:
    """Acknowledge a reminder: it stops escalating and any snooze ends."""
    text = _text("note", note, required=False, max_length=2000)
    reminder = _live(session, reminder_id, "acknowledge")
    reminder.status = ReminderStatus.ACKNOWLEDGED.value
    reminder.acknowledged_at = now
    reminder.acknowledged_by = actor
    reminder.acknowledge_note = text
    reminder.escalate_at = None
    reminder.snoozed_until = None
    record_action(session, reminder, actor=actor, action="acknowledged", now=now,
                  detail={"note": text} if text else {})
    session.flush()
    return reminder


def snooze(
    session: Session, *, reminder_id: int, until: dt.date, reason: str, actor: str,
    now: dt.datetime, zone: ZoneInfo,
) -> Reminder:
    """Snooze a reminder until the start of `until` in the site's zone (with a reason); the
    scheduler wakes it then. An escalation still pending is postponed to after the snooze."""
    text = _text("reason", reason, required=True, max_length=500)
    today = local_day(now, zone)
    if until <= today:
        raise InvalidData("until", "must be a day after today")
    if until > today + dt.timedelta(days=MAX_SNOOZE_DAYS):
        raise InvalidData("until", f"must be within {MAX_SNOOZE_DAYS} days")
    reminder = _live(session, reminder_id, "snooze")
    wake_at = day_start(until, zone)
    reminder.status = ReminderStatus.SNOOZED.value
    reminder.snoozed_until = wake_at
    reminder.snooze_reason = text
    if reminder.escalate_at is not None:
        episode = store.episode_of(session, reminder)
        days = load_definition(session, episode.pathway_version).escalation_days
        reminder.escalate_at = max(reminder.escalate_at, wake_at + dt.timedelta(days=days))
    record_action(session, reminder, actor=actor, action="snoozed", now=now,
                  detail={"until": until.isoformat(), "reason": text})
    session.flush()
    return reminder


def assign(
    session: Session, *, reminder_id: int, assignee: str, actor: str, now: dt.datetime
) -> Reminder:
    """Assign a reminder to a person: an active user whose role may act on reminders (a
    name nobody has is refused, naming the field)."""
    name = _text("assignee", assignee, required=True, max_length=120) or ""
    reminder = _live(session, reminder_id, "assign")  # a resolved one: 409 whoever is named
    user = active_user(session, name)
    if user is None or not may(user.role, Action.ACT_ON_REMINDER):
        raise InvalidData("assignee", f"no active user named {name!r} who may act on reminders")
    return _set_assignee(session, reminder, name, actor, now)


def unassign(session: Session, *, reminder_id: int, actor: str, now: dt.datetime) -> Reminder:
    """Take a reminder's assignment away."""
    return _set_assignee(session, _live(session, reminder_id, "unassign"), None, actor, now)


def _set_assignee(session: Session, reminder: Reminder, name: str | None, actor: str,
                  now: dt.datetime) -> Reminder:
    previous = reminder.assigned_to
    reminder.assigned_to = name
    record_action(session, reminder, actor=actor, action="assigned" if name else "unassigned",
                  now=now, detail={"assignee": name, "previous": previous})
    session.flush()
    return reminder
