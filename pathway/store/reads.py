"""Reads the edges render an episode with: its milestones and its open reminders, as plain
frozen rows (statements built once, run on the driver's cursor)."""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from pathway.models import EventRecord
from pathway.rules.snapshot import MilestoneSnapshot, ReminderSnapshot
from pathway.store import sql
from pathway.store.statements import OPEN_STATUSES
from pathway.store.tables import MILESTONES, REMINDERS
from pathway.vocabulary import MilestoneStatus

_M, _R = MILESTONES.c, REMINDERS.c
_ALL_OF_EPISODE = (select(*MILESTONES.columns).where(_M.episode_id == bindparam("episode_id"))
                   .order_by(_M.id))
_OPEN_OF_EPISODE = (select(*MILESTONES.columns)
                    .where(_M.episode_id == bindparam("episode_id"),
                           _M.status == MilestoneStatus.OPEN.value)
                    .order_by(_M.overdue_at, _M.id))
_OPEN_REMINDERS = (select(*REMINDERS.columns)
                   .where(_R.episode_id == bindparam("episode_id"),
                          or_(*(_R.status == s for s in OPEN_STATUSES)))
                   .order_by(_R.due_on, _R.id))
_MILESTONE_KEYS = tuple(c.key for c in MILESTONES.columns)


def all_milestones(session: Session, episode_id: int) -> list[MilestoneSnapshot]:
    """Every milestone the episode ever had, in creation order."""
    return [MilestoneSnapshot(**dict(zip(_MILESTONE_KEYS, row, strict=True)))
            for row in sql.rows(session, _ALL_OF_EPISODE, {"episode_id": episode_id})]


def open_milestones(session: Session, episode_id: int) -> list[MilestoneSnapshot]:
    """The episode's open milestones, soonest overdue first."""
    return [MilestoneSnapshot(**dict(zip(_MILESTONE_KEYS, row, strict=True)))
            for row in sql.rows(session, _OPEN_OF_EPISODE, {"episode_id": episode_id})]


#: One reminder as stored (the rules' snapshot of its row).
ReminderRow = ReminderSnapshot


def open_reminders(session: Session, episode_id: int) -> list[ReminderRow]:
    """The episode's reminders that are not resolved, oldest due first."""
    return [ReminderRow(*row) for row in sql.rows(session, _OPEN_REMINDERS,
                                                  {"episode_id": episode_id})]


def event_log(session: Session, episode_id: int) -> list[EventRecord]:
    """The episode's event log, oldest first (the ORM's objects: the views read them)."""
    return list(session.scalars(select(EventRecord).where(EventRecord.episode_id == episode_id)
                                .order_by(EventRecord.seq)))
