"""The reads and writes of opening an episode: the patient by MRN (with the current pathway
version and whether anyone listens, in the same statement), the patient's open episodes on a
day 0, the patient and episode rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session

from pathway.rules.snapshot import PatientSnapshot
from pathway.store import sql
from pathway.store.episodes import insert_many
from pathway.store.models import PathwayVersion
from pathway.store.tables import EPISODES, PATIENTS, SUBSCRIPTIONS
from pathway.vocabulary import CareState

_V = PathwayVersion.__table__.c
_P = PATIENTS.c
_PATIENT_KEYS = tuple(c.key for c in PATIENTS.columns)
_NEWEST = select(func.max(_V.version)).scalar_subquery()
_ANY_SUBSCRIPTION = select(exists().where(SUBSCRIPTIONS.c.active.is_(True))).scalar_subquery()
# One row whether or not the MRN is known: the newest version, outer-joined to the patient.
_CONTEXT = (select(_V.version, _ANY_SUBSCRIPTION.label("any_subscription"), *PATIENTS.columns)
            .select_from(PathwayVersion.__table__.outerjoin(
                PATIENTS, _P.mrn == bindparam("mrn")))
            .where(_V.version == _NEWEST))
_OPEN_ON_DAY0 = (select(EPISODES.c.id, EPISODES.c.levels)
                 .where(EPISODES.c.patient_id == bindparam("patient_id"),
                        EPISODES.c.identified_on == bindparam(
                            "identified_on", type_=EPISODES.c.identified_on.type),
                        EPISODES.c.state != CareState.CLOSED.value)
                 .order_by(EPISODES.c.id))
#: Every column but the id and `attention`, which the database keeps (migration 0010).
_EPISODE_KEYS = tuple(c.key for c in EPISODES.columns if c.key not in ("id", "attention"))


@dataclass(frozen=True)
class OpeningContext:
    """What an opening needs to know before deciding."""

    version: int | None
    any_subscription: bool
    patient: PatientSnapshot | None


def context(session: Session, mrn: str) -> OpeningContext:
    """The newest pathway version, whether any webhook listens, and the MRN's patient."""
    found = sql.rows(session, _CONTEXT, {"mrn": mrn})
    if not found:
        return OpeningContext(None, False, None)
    version, listening, *patient = found[0]
    known = patient[0] is not None
    return OpeningContext(int(version), bool(listening), PatientSnapshot(
        **dict(zip(_PATIENT_KEYS, patient, strict=True))) if known else None)


def open_on_day0(session: Session, patient_id: int, identified_on: dt.date
                 ) -> list[tuple[int, list[str]]]:
    """The patient's episodes not closed whose day 0 is `identified_on`, with their levels."""
    return [(int(i), list(levels)) for i, levels in sql.rows(session, _OPEN_ON_DAY0, {
        "patient_id": patient_id, "identified_on": identified_on})]


def insert_patient(session: Session, values: dict[str, Any]) -> PatientSnapshot:
    """A new patient row."""
    keys = ("mrn", "name", "birth_date", "created_at")
    (row,) = insert_many(session, PATIENTS, keys, [values])
    return PatientSnapshot(id=int(row[0]), **{k: values[k] for k in keys})


def insert_episode(session: Session, values: dict[str, Any]) -> int:
    """A new episode row; its id."""
    (row,) = insert_many(session, EPISODES, _EPISODE_KEYS, [values])
    return int(row[0])
