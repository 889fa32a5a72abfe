"""The reminders the scheduler's two reminder passes claim, one batch at a time: those whose
escalation time has come (through the partial index `ix_reminders_escalate_at`) and those
whose snooze has ended. On PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, so
several scheduler processes never take the same reminder; the claimed rows stay locked until
the commit. Statements are built once.

(What each pass does with its reminders is `pathway.escalation`.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from pathway.store.models import Episode, Reminder
from pathway.vocabulary import ReminderStatus

_ESCALATION_DUE = (
    select(Reminder)
    .where(Reminder.escalate_at.is_not(None), Reminder.escalate_at <= bindparam("now"),
           Reminder.escalated_at.is_(None),
           Reminder.status != ReminderStatus.SNOOZED.value)
    .order_by(Reminder.escalate_at, Reminder.id)
    .limit(bindparam("limit"))
)
_SNOOZE_ENDED = (
    select(Reminder)
    .where(Reminder.status == ReminderStatus.SNOOZED.value,
           Reminder.snoozed_until <= bindparam("now"))
    .order_by(Reminder.snoozed_until, Reminder.id)
    .limit(bindparam("limit"))
)
_ESCALATION_DUE_CLAIMED = _ESCALATION_DUE.with_for_update(skip_locked=True)
# Waking changes the status, so the database refreshes the episode's attention (migration
# 0010): the episode is claimed with its reminder, skipped while an event holds it, so a
# wake never waits on an episode an event has locked (nor the event on the wake).
_SNOOZE_ENDED_CLAIMED = (_SNOOZE_ENDED.join(Episode, Episode.id == Reminder.episode_id)
                         .with_for_update(skip_locked=True))


def _claim(session: Session, plain: Select[Reminder], claiming: Select[Reminder],
           now: dt.datetime, limit: int) -> list[Reminder]:
    """Run a reminder query, skipping rows another scheduler process holds (PostgreSQL)."""
    query = claiming if session.get_bind().dialect.name == "postgresql" else plain
    return list(session.scalars(query, {"now": now, "limit": limit}))


def escalations_due(session: Session, *, now: dt.datetime, limit: int) -> list[Reminder]:
    """Up to `limit` reminders whose escalation time has come by `now`, not escalated yet and
    not snoozed, soonest first (some may have been acknowledged since: the caller clears
    those)."""
    return _claim(session, _ESCALATION_DUE, _ESCALATION_DUE_CLAIMED, now, limit)


def snoozes_ended(session: Session, *, now: dt.datetime, limit: int) -> list[Reminder]:
    """Up to `limit` snoozed reminders whose snooze has ended by `now`, soonest first."""
    return _claim(session, _SNOOZE_ENDED, _SNOOZE_ENDED_CLAIMED, now, limit)
