"""The access log as remembered: who read which patient's data, when, what and from where.
Append-only (the database refuses UPDATE and DELETE), like the event log. A read of one
episode names its patient and episode; a list or an export is one row with its filter and
how many episodes it returned (`detail`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pathway.store.models import AccessRecord
from pathway.store.tables import PATIENTS, table_of

_L = table_of(AccessRecord)


@dataclass(frozen=True)
class AccessEntry:
    """One read, as listed (with the patient's MRN, when it names a patient)."""

    id: int
    at: dt.datetime
    actor: str
    what: str
    patient_id: int | None
    episode_id: int | None
    detail: dict[str, Any] | None
    client_address: str | None
    mrn: str | None


def add(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write reads down (keys: at, actor, what, patient_id, episode_id, detail,
    client_address)."""
    if rows:
        session.execute(insert(_L), list(rows))


def patient_id_of(session: Session, mrn: str) -> int | None:
    """The id of the patient with this MRN, or None."""
    return session.scalar(select(PATIENTS.c.id).where(PATIENTS.c.mrn == mrn))


def entries(session: Session, *, patient_id: int | None = None, actor: str | None = None,
            since: dt.datetime | None = None, before_id: int | None = None,
            limit: int = 100) -> list[AccessEntry]:
    """Reads newest first, of one patient and/or by one actor, since a time; paged by id."""
    statement = (select(_L.c.id, _L.c.at, _L.c.actor, _L.c.what, _L.c.patient_id,
                        _L.c.episode_id, _L.c.detail, _L.c.client_address, PATIENTS.c.mrn)
                 .outerjoin(PATIENTS, PATIENTS.c.id == _L.c.patient_id))
    if patient_id is not None:
        statement = statement.where(_L.c.patient_id == patient_id)
    if actor is not None:
        statement = statement.where(_L.c.actor == actor)
    if since is not None:
        statement = statement.where(_L.c.at >= since)
    if before_id is not None:
        statement = statement.where(_L.c.id < before_id)
    return [AccessEntry(*row) for row in
            session.execute(statement.order_by(_L.c.id.desc()).limit(limit))]
