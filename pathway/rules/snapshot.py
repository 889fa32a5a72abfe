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
class ReminderSnapshot:
    """One reminder row (fields in the table's column order, as `MilestoneSnapshot`)."""

    id: int
    episode_id: int
    milestone_id: int | None
    kind: str
    due_on: dt.date
    priority: str
    status: str
    rule: str
    seeds: list[Any]
    raised_at: dt.datetime
    assigned_to: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    snoozed_until: dt.datetime | None
    snooze_reason: str | None
    escalate_at: dt.datetime | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str | None


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
    """One episode row with its patient, every milestone it ever had (creation order) and
    its open reminders (not resolved: open, snoozed or acknowledged; soonest due first).

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
    #: The open reminders, or None when they were not loaded (then `open_unattached` says
    #: "maybe", so the rules resolve by kind whatever may be open).
    reminders: tuple[ReminderSnapshot, ...] | None = None

    @property
    def open_unattached(self) -> bool:
        """Whether a reminder raised by an event (not by a milestone) is or may be open."""
        return self.reminders is None or any(r.milestone_id is None for r in self.reminders)

    def open_milestones(self) -> list[MilestoneSnapshot]:
        """The open milestones, soonest overdue first."""
        return sorted((m for m in self.milestones if m.is_open),
                      key=lambda m: (m.overdue_at, m.id))
