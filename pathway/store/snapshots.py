"""Loading episode snapshots: an episode, its patient and every milestone in one statement.

The statement also says whether any webhook subscription is active (most events then queue
nothing and look no further), the episode's latest imaging day (the repeat-MRI rule) and
whether a reminder raised by an event is open (else nothing needs resolving by kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot, PatientSnapshot
from pathway.store import sql
from pathway.store.statements import OPEN_STATUSES
from pathway.store.tables import (
    EPISODES,
    IMAGING,
    MILESTONES,
    PATIENTS,
    REMINDERS,
    SUBSCRIPTIONS,
)

_E, _P, _M = EPISODES.c, PATIENTS.c, MILESTONES.c
_EPISODE_KEYS = tuple(c.key for c in EPISODES.columns)
_PATIENT_KEYS = tuple(c.key for c in PATIENTS.columns)
_MILESTONE_KEYS = tuple(c.key for c in MILESTONES.columns)

_LATEST_IMAGING = (select(func.max(IMAGING.c.performed_on))
                   .where(IMAGING.c.episode_id == _E.id).scalar_subquery())
_ANY_SUBSCRIPTION = select(exists().where(SUBSCRIPTIONS.c.active.is_(True))).scalar_subquery()
# Reminders raised by an event rather than a milestone (urgent surgical review, repeat MRI):
# only events raise them, and events on an episode are serialised by its version, so the
# snapshot knows for sure whether one is open.
_OPEN_UNATTACHED = select(exists().where(
    REMINDERS.c.episode_id == _E.id, REMINDERS.c.milestone_id.is_(None),
    or_(*(REMINDERS.c.status == s for s in OPEN_STATUSES)))).scalar_subquery()


def _episode_query(with_milestones: bool) -> Select[Any]:
    columns: list[Any] = [*EPISODES.columns, *PATIENTS.columns]
    query = select(*columns, _LATEST_IMAGING.label("latest_imaging_on"),
                   _OPEN_UNATTACHED.label("open_unattached"),
                   _ANY_SUBSCRIPTION.label("any_subscription"))
    if with_milestones:
        query = query.add_columns(*MILESTONES.columns).select_from(
            EPISODES.join(PATIENTS, PATIENTS.c.id == _E.patient_id)
            .outerjoin(MILESTONES, _M.episode_id == _E.id)).order_by(_M.id)
    else:
        query = query.select_from(EPISODES.join(PATIENTS, PATIENTS.c.id == _E.patient_id))
    return query.where(_E.id == bindparam("id"))


# Built once: building a SELECT costs more than running it on a primary key.
_WITH_MILESTONES = _episode_query(True)
_EPISODE_ONLY = _episode_query(False)


@dataclass(frozen=True)
class Loaded:
    """A snapshot and what the store learnt on the way."""

    snapshot: EpisodeSnapshot
    any_subscription: bool


def load(session: Session, episode_id: int, *, with_milestones: bool = True) -> Loaded | None:
    """The episode's snapshot (None when there is no such episode). The episode's columns
    repeat on every milestone's row: they are processed once, from the first."""
    statement = _WITH_MILESTONES if with_milestones else _EPISODE_ONLY
    found = sql.raw_rows(session, statement, {"id": episode_id})
    if not found:
        return None
    processors = sql.result_processors(statement, session.get_bind().dialect)
    n_e, n_p = len(_EPISODE_KEYS), len(_PATIENT_KEYS)
    tail = n_e + n_p + 3
    first = sql.processed(processors[:tail], found[0][:tail])
    patient = PatientSnapshot(*first[n_e:n_e + n_p])
    milestones: tuple[MilestoneSnapshot, ...] = ()
    if with_milestones:
        of_milestone = processors[tail:]
        milestones = tuple(MilestoneSnapshot(*sql.processed(of_milestone, row[tail:]))
                           for row in found if row[tail] is not None)
    snapshot = EpisodeSnapshot(*first[:n_e], patient=patient,  # type: ignore[misc]
                               milestones=milestones, latest_imaging_on=first[tail - 3],
                               open_unattached=bool(first[tail - 2]))
    return Loaded(snapshot, bool(first[tail - 1]))
