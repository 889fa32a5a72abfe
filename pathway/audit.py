"""The access audit: every read of a patient's data is written down with who read it, when,
what (`episode`, `events`, `fhir`, `episode_list`, ...) and from where, so that clinical
governance can ask "who looked at this patient?" and "what did this user look at?". The log
is append-only. A write that cannot be made fails the read: data is not shown unaudited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from pathway.errors import NotFound
from pathway.store import access_log
from pathway.store.access_log import AccessEntry

#: What a read can be, as recorded.
WHAT = frozenset({"episode", "events", "event", "fhir", "episode_list", "reminder",
                  "reminder_list", "worklist", "worklist_export", "episode_page"})


@dataclass(frozen=True)
class Read:
    """One read of patient data."""

    actor: str
    what: str
    client_address: str | None = None
    patient_id: int | None = None
    episode_id: int | None = None
    detail: dict[str, Any] | None = field(default=None)

    def row(self, at: dt.datetime) -> dict[str, Any]:
        return {"at": at, "actor": self.actor[:120], "what": self.what,
                "patient_id": self.patient_id, "episode_id": self.episode_id,
                "detail": self.detail,
                "client_address": (self.client_address or "")[:64] or None}


def record(db: Session, reads: list[Read], *, at: dt.datetime) -> None:
    """Write reads down (in the caller's transaction)."""
    for read in reads:
        assert read.what in WHAT, read.what
    access_log.add(db, [read.row(at) for read in reads])


def reads_of_patient(db: Session, mrn: str, *, before_id: int | None = None,
                     limit: int = 100) -> list[AccessEntry]:
    """Every read naming the patient with this MRN, newest first (lists and exports are
    recorded per request, with their filter: they are found by user, not by patient)."""
    patient_id = access_log.patient_id_of(db, mrn)
    if patient_id is None:
        raise NotFound("patient", mrn)
    return access_log.entries(db, patient_id=patient_id, before_id=before_id, limit=limit)


def reads_by(db: Session, actor: str | None = None, *, since: dt.datetime | None = None,
             before_id: int | None = None, limit: int = 100) -> list[AccessEntry]:
    """Every read by one actor (`user:<name>`, `key:<name>`), or by anyone, newest first."""
    return access_log.entries(db, actor=actor, since=since, before_id=before_id, limit=limit)
