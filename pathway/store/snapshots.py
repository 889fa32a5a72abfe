"""Loading episode snapshots: an episode, its patient and every milestone in one statement.

The statement also says whether any webhook subscription is active (most events then queue
nothing and look no further) and the episode's latest imaging day (the repeat-MRI rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.orm import Session

from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot, PatientSnapshot
from pathway.store import sql
from pathway.store.tables import EPISODES, IMAGING, MILESTONES, PATIENTS, SUBSCRIPTIONS

_E, _P, _M = EPISODES.c, PATIENTS.c, MILESTONES.c
_EPISODE_KEYS = tuple(c.key for c in EPISODES.columns)
_PATIENT_KEYS = tuple(c.key for c in PATIENTS.columns)
_MILESTONE_KEYS = tuple(c.key for c in MILESTONES.columns)

_LATEST_IMAGING = (select(func.max(IMAGING.c.performed_on))
                   .where(IMAGING.c.episode_id == _E.id).scalar_subquery())
_ANY_SUBSCRIPTION = select(exists().where(SUBSCRIPTIONS.c.active.is_(True))).scalar_subquery()


def _episode_query(with_milestones: bool) -> Select[Any]:
    columns: list[Any] = [*EPISODES.columns, *PATIENTS.columns]
    query = select(*columns, _LATEST_IMAGING.label("latest_imaging_on"),
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
    """The episode's snapshot (None when there is no such episode)."""
    found = sql.rows(session, _WITH_MILESTONES if with_milestones else _EPISODE_ONLY,
                     {"id": episode_id})
    if not found:
        return None
    first = found[0]
    n_e, n_p = len(_EPISODE_KEYS), len(_PATIENT_KEYS)
    patient = PatientSnapshot(**dict(zip(_PATIENT_KEYS, first[n_e:n_e + n_p], strict=True)))
    tail = n_e + n_p
    milestones: tuple[MilestoneSnapshot, ...] = ()
    if with_milestones:
        milestones = tuple(
            MilestoneSnapshot(**dict(zip(_MILESTONE_KEYS, row[tail + 2:], strict=True)))
            for row in found if row[tail + 2] is not None)
    episode = dict(zip(_EPISODE_KEYS, first[:n_e], strict=True))
    snapshot = EpisodeSnapshot(**episode, patient=patient, milestones=milestones,
                               latest_imaging_on=first[tail])
    return Loaded(snapshot, bool(first[tail + 1]))
