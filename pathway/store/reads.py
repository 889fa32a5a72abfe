"""Reads the edges render an episode with: its milestones as plain frozen rows (statements
built once, run on the driver's cursor) and its event log. Open reminders come with the
episode's snapshot (`pathway.store.snapshots`)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from pathway.rules.snapshot import MilestoneSnapshot, ReminderSnapshot
from pathway.store import sql
from pathway.store.models import Episode, EventRecord
from pathway.store.tables import MILESTONES
from pathway.vocabulary import MilestoneStatus

_M = MILESTONES.c
_ALL_OF_EPISODE = (select(*MILESTONES.columns).where(_M.episode_id == bindparam("episode_id"))
                   .order_by(_M.id))
_OPEN_OF_EPISODE = (select(*MILESTONES.columns)
                    .where(_M.episode_id == bindparam("episode_id"),
                           _M.status == MilestoneStatus.OPEN.value)
                    .order_by(_M.overdue_at, _M.id))
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


def event_log(session: Session, episode_id: int) -> list[EventRecord]:
    """The episode's event log, oldest first (the ORM's objects: the views read them)."""
    return list(session.scalars(select(EventRecord).where(EventRecord.episode_id == episode_id)
                                .order_by(EventRecord.seq)))


def episode_with_patient(session: Session, episode_id: int) -> Episode | None:
    """The episode and its patient as the ORM's objects (for the read views), or None."""
    return session.get(Episode, episode_id, options=[joinedload(Episode.patient)])
