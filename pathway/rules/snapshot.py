"""Episodes as the rules see them: plain frozen values, loaded by `pathway.store`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pathway.vocabulary import MilestoneStatus


@dataclass(frozen=True, slots=True)
class MilestoneSnapshot:
    """One milestone row (fields in the table's column order: the store builds snapshots
    from rows by position, tests/pathway/test_store.py checks the order)."""

    id: int
    episode_id: int
    kind: str
    status: str
    anchor_on: dt.date
    due_on: dt.date
    overdue_on: dt.date
    due_at: dt.datetime
    overdue_at: dt.datetime
    next_alert_at: dt.datetime | None
    next_alert_kind: str | None
    created_at: dt.datetime
    met_on: dt.date | None
    closed_at: dt.datetime | None
    first_of_kind: bool

    @property
    def is_open(self) -> bool:
        return self.status == MilestoneStatus.OPEN.value


@dataclass(frozen=True, slots=True)
class PatientSnapshot:
    """One patient row."""

    id: int
    mrn: str
    name: str | None
    birth_date: dt.date | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EpisodeSnapshot:
    """One episode row with its patient and every milestone it ever had (creation order).

    `latest_imaging_on` is loaded only for the events whose rules read it
    (`pathway.rules.table.reads_imaging`); elsewhere it is None."""

    id: int
    patient_id: int
    state: str
    pathway_version: int
    version: int
    identified_on: dt.date
    coordinator: str | None
    levels: list[str]
    intake: dict[str, Any]
    neuro_intact: bool
    instability: bool
    cord_compression: bool
    red_flags_open: bool
    next_overdue_at: dt.datetime | None
    next_milestone: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    patient: PatientSnapshot
    milestones: tuple[MilestoneSnapshot, ...] = ()
    latest_imaging_on: dt.date | None = None
    #: Whether a reminder raised by an event (not by a milestone) is open.
    open_unattached: bool = True

    def open_milestones(self) -> list[MilestoneSnapshot]:
        """The open milestones, soonest overdue first."""
        return sorted((m for m in self.milestones if m.is_open),
                      key=lambda m: (m.overdue_at, m.id))
