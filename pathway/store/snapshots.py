"""Loading episode snapshots: an episode, its patient, every milestone and its open
reminders in one statement (a UNION ALL: the episode's rows with its milestones, then the
reminders' rows).

The statement also says whether any webhook subscription is active (most events then queue
nothing and look no further) and the episode's latest imaging day (the repeat-MRI rule).
The open reminders let the edge render the episode after an event without reading again,
and say whether a reminder raised by an event is open (else nothing needs resolving by kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from pathway.rules.snapshot import (
    EpisodeSnapshot,
    MilestoneSnapshot,
    PatientSnapshot,
    ReminderSnapshot,
)
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

_E, _M, _R = EPISODES.c, MILESTONES.c, REMINDERS.c
#: The episode's columns the rules see: all but `attention`, the worklist's order, which the
#: database keeps from the reminders (migration 0010).
_EPISODE_COLUMNS = [c for c in EPISODES.columns if c.key != "attention"]

_LATEST_IMAGING = (select(func.max(IMAGING.c.performed_on))
                   .where(IMAGING.c.episode_id == _E.id).scalar_subquery())
_ANY_SUBSCRIPTION = select(exists().where(SUBSCRIPTIONS.c.active.is_(True))).scalar_subquery()


def _labelled(columns: Any) -> list[Any]:
    """`columns` named after their table (the union's columns must be told apart)."""
    return [c.label(f"{c.table.name}_{c.key}") for c in columns]


def _nulls(columns: Any) -> list[Any]:
    """Typed NULLs standing for `columns` in the other branch of the union."""
    return [literal_column("NULL", type_=c.type).label(f"{c.table.name}_{c.key}")
            for c in columns]


def _snapshot_query() -> CompoundSelect[Any]:
    """The episode, its patient and milestones (one row per milestone, or one row without),
    then its open reminders (one row each, the episode's columns NULL): one statement."""
    episode_rows = (
        select(literal_column("0", type_=Integer).label("part"), *_labelled(_EPISODE_COLUMNS),
               *_labelled(PATIENTS.columns), _LATEST_IMAGING.label("latest_imaging_on"),
               _ANY_SUBSCRIPTION.label("any_subscription"), *_labelled(MILESTONES.columns),
               *_nulls(REMINDERS.columns))
        .select_from(EPISODES.join(PATIENTS, PATIENTS.c.id == _E.patient_id)
                     .outerjoin(MILESTONES, _M.episode_id == _E.id))
        .where(_E.id == bindparam("id")))
    reminder_rows = (
        select(literal_column("1", type_=Integer), *_nulls(_EPISODE_COLUMNS),
               *_nulls(PATIENTS.columns), literal_column("NULL"), literal_column("NULL"),
               *_nulls(MILESTONES.columns), *REMINDERS.columns)
        .where(_R.episode_id == bindparam("id"), or_(*(_R.status == s for s in OPEN_STATUSES))))
    return union_all(episode_rows, reminder_rows).order_by(
        "part", "milestones_id", "reminders_due_on", "reminders_id")


# Built once: building a SELECT costs more than running it on a primary key.
_SNAPSHOT = _snapshot_query()
_N_E, _N_P, _N_M = len(_EPISODE_COLUMNS), len(PATIENTS.columns), len(MILESTONES.columns)
_MILESTONES_AT = 1 + _N_E + _N_P + 2
_REMINDERS_AT = _MILESTONES_AT + _N_M


@dataclass(frozen=True)
class Loaded:
    """A snapshot and what the store learnt on the way."""

    snapshot: EpisodeSnapshot
    any_subscription: bool


def load(session: Session, episode_id: int) -> Loaded | None:
    """The episode's snapshot (None when there is no such episode). The episode's columns
    repeat on every milestone's row: they are processed once, from the first."""
    found = sql.raw_rows(session, _SNAPSHOT, {"id": episode_id})
    if not found or found[0][0] != 0:
        return None
    processors = sql.result_processors(_SNAPSHOT, session.get_bind().dialect)
    first = sql.processed(processors[:_MILESTONES_AT], found[0][:_MILESTONES_AT])
    patient = PatientSnapshot(*first[1 + _N_E:1 + _N_E + _N_P])
    of_milestone = processors[_MILESTONES_AT:_REMINDERS_AT]
    milestones = tuple(MilestoneSnapshot(*sql.processed(of_milestone,
                                                        row[_MILESTONES_AT:_REMINDERS_AT]))
                       for row in found if row[0] == 0 and row[_MILESTONES_AT] is not None)
    of_reminder = processors[_REMINDERS_AT:]
    reminders = tuple(ReminderSnapshot(*sql.processed(of_reminder, row[_REMINDERS_AT:]))
                      for row in found if row[0] == 1)
    snapshot = EpisodeSnapshot(*first[1:1 + _N_E], patient=patient,  # type: ignore[misc]
                               milestones=milestones, latest_imaging_on=first[-2],
                               reminders=reminders)
    return Loaded(snapshot, bool(first[-1]))
