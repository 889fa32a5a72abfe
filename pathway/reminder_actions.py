"""What people do with reminders: list them, acknowledge, snooze and assign.

The integration API and the dashboard call these same use cases. Each takes `now` and an
actor, keeps a `ReminderAction` history row, flushes and never commits. A resolved reminder
is history: it cannot be acknowledged, snoozed or assigned (`ActionRefused`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import Session

from pathway.clock import day_start, local_day
from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.models import Episode, Reminder, ReminderAction
from pathway.reminders import record_action
from pathway.store.versions import load_definition
from pathway.vocabulary import Priority, ReminderStatus

MAX_SNOOZE_DAYS = 365
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns

#: Most pressing first: the order of `list_reminders`.
PRIORITY_RANK: dict[str, int] = {Priority.STAT: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}
_rank = case(
    dict(PRIORITY_RANK), value=Reminder.priority, else_=3
)


@dataclass(frozen=True)
class ReminderFilter:
    """What a caller may filter reminders by; `unresolved` keeps open, snoozed and
    acknowledged ones."""

    status: str | None = None
    kind: str | None = None
    episode_id: int | None = None
    coordinator: str | None = None
    priority: str | None = None
    assigned_to: str | None = None
    unresolved: bool = False
    escalated: bool | None = None  # True: escalated to the lead clinician; False: not (yet)


@dataclass(frozen=True)
class ReminderCursor:
    """Position after the last row of a page, in "most pressing first" order."""

    rank: int
    due_on: dt.date
    reminder_id: int

    def encode(self) -> str:
        """An opaque string for the next page."""
        return f"{self.rank}|{self.due_on.isoformat()}|{self.reminder_id}"

    @classmethod
    def decode(cls, text: str) -> ReminderCursor:
        """Parse a cursor; raises ValueError when malformed."""
        rank, due, ident = text.split("|")
        cursor = cls(int(rank), dt.date.fromisoformat(due), int(ident))
        if not (0 <= cursor.rank <= 3 and 0 < cursor.reminder_id <= MAX_ID):
            raise ValueError("cursor out of range")
        return cursor


def get_reminder(session: Session, reminder_id: int) -> Reminder:
    """One reminder or NotFound."""
    reminder = session.get(Reminder, reminder_id) if 0 < reminder_id <= MAX_ID else None
    if reminder is None:
        raise NotFound("reminder", reminder_id)
    return reminder


def reminder_history(session: Session, reminder_id: int) -> list[ReminderAction]:
    """Every raise, delivery, acknowledgement, snooze, assignment and resolution, oldest first."""
    get_reminder(session, reminder_id)
    query = (
        select(ReminderAction)
        .where(ReminderAction.reminder_id == reminder_id)
        .order_by(ReminderAction.at, ReminderAction.id)
    )
    return list(session.scalars(query))


def _filtered(query: Select[Reminder], f: ReminderFilter) -> Select[Reminder]:
    if f.status:
        query = query.where(Reminder.status == f.status)
    if f.unresolved:
        query = query.where(Reminder.status != ReminderStatus.RESOLVED.value)
    if f.kind:
        query = query.where(Reminder.kind == f.kind)
    if f.episode_id is not None:
        query = query.where(Reminder.episode_id == f.episode_id)
    if f.priority:
        query = query.where(Reminder.priority == f.priority)
    if f.assigned_to:
        query = query.where(Reminder.assigned_to == f.assigned_to)
    if f.escalated is not None:
        query = query.where(Reminder.escalated_at.is_not(None) if f.escalated
                            else Reminder.escalated_at.is_(None))
    if f.coordinator:
        query = query.join(Episode, Episode.id == Reminder.episode_id).where(
            Episode.coordinator == f.coordinator
        )
    return query


def _after(cursor: ReminderCursor) -> ColumnElement[bool]:
    return or_(
        _rank > cursor.rank,
        and_(_rank == cursor.rank, Reminder.due_on > cursor.due_on),
        and_(_rank == cursor.rank, Reminder.due_on == cursor.due_on,
             Reminder.id > cursor.reminder_id),
    )


def list_reminders(
    session: Session, *, where: ReminderFilter | None = None, limit: int = 50,
    after: ReminderCursor | None = None,
) -> tuple[list[Reminder], ReminderCursor | None]:
    """A page of reminders, most pressing first (stat, urgent, routine; then oldest due);
    returns the page and the next page's cursor."""
    query = _filtered(select(Reminder), where or ReminderFilter())
    if after is not None:
        query = query.where(_after(after))
    query = query.order_by(_rank, Reminder.due_on, Reminder.id).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], ReminderCursor(PRIORITY_RANK.get(last.priority, 3), last.due_on, last.id)


def _live(session: Session, reminder_id: int, action: str) -> Reminder:
    # Locked (PostgreSQL) until the transaction ends: an event that resolves this reminder at
    # the same moment either waits for this action, or commits first and is seen here (the
    # action is refused); without the lock a late acknowledge or snooze revived a resolved
    # reminder (found by tests/faults/test_races.py).
    reminder = (session.get(Reminder, reminder_id, with_for_update=True, populate_existing=True)
                if 0 < reminder_id <= MAX_ID else None)
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
        episode = session.get_one(Episode, reminder.episode_id)
        days = load_definition(session, episode.pathway_version).escalation_days
        reminder.escalate_at = max(reminder.escalate_at, wake_at + dt.timedelta(days=days))
    record_action(session, reminder, actor=actor, action="snoozed", now=now,
                  detail={"until": until.isoformat(), "reason": text})
    session.flush()
    return reminder


def assign(
    session: Session, *, reminder_id: int, assignee: str, actor: str, now: dt.datetime
) -> Reminder:
    """Assign a reminder to a person (a user name or a team)."""
    name = _text("assignee", assignee, required=True, max_length=120)
    reminder = _live(session, reminder_id, "assign")
    previous = reminder.assigned_to
    reminder.assigned_to = name
    record_action(session, reminder, actor=actor, action="assigned", now=now,
                  detail={"assignee": name, "previous": previous})
    session.flush()
    return reminder
