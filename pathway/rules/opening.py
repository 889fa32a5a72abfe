"""Decide an opening: the episode row, its first milestones, what is already overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pathway.definition import PathwayDefinition
from pathway.intake import IntakeAssessment
from pathway.rules.changes import Changes, LogRow, Record
from pathway.rules.decide import opening_alerts, opening_milestones
from pathway.rules.table import table_of
from pathway.vocabulary import OPENED_EVENT, CareState, MilestoneStatus


@dataclass(frozen=True)
class Opening:
    """The new episode's columns (but its id and patient) and what comes with it."""

    episode: dict[str, Any]
    changes: Changes


def decide_opening(intake: IntakeAssessment, definition: PathwayDefinition, *,
                   now: dt.datetime, zone: ZoneInfo, actor: str) -> Opening:
    """What opening an episode from `intake` on `definition` writes (an episode opened late
    raises at once whatever is already overdue)."""
    state = CareState.ASSESSED.value
    milestones, raised = opening_alerts(definition, opening_milestones(
        table_of(definition), identified_on=intake.identified_on, zone=zone), now)
    still_open = [(m.overdue_at, i, m.kind) for i, m in enumerate(milestones)
                  if m.status == MilestoneStatus.OPEN.value]
    soonest = min(still_open, default=None)
    episode = {
        "state": state, "pathway_version": definition.version, "version": 1,
        "identified_on": intake.identified_on, "coordinator": intake.coordinator,
        "levels": list(intake.levels), "intake": intake.model_dump(mode="json",
                                                                   exclude={"patient"}),
        "neuro_intact": intake.neuro_intact, "instability": intake.instability,
        "cord_compression": intake.cord_compression, "red_flags_open": bool(intake.red_flags),
        "next_overdue_at": soonest[0] if soonest else None,
        "next_milestone": soonest[2] if soonest else None,
        "opened_at": now, "updated_at": now, "closed_at": None,
    }
    records: tuple[Record, ...] = ()
    if intake.initial_imaging is not None:
        img = intake.initial_imaging
        records = (Record("imaging", {"modality": img.modality.value,
                                      "performed_on": img.performed_on,
                                      "finding": img.finding.value if img.finding else None}),)
    # The opening's data is the intake, kept once on the episode row (it never changes).
    log = LogRow(seq=1, name=OPENED_EVENT, occurred_on=intake.identified_on, recorded_at=now,
                 actor=actor, source_state=None, target_state=state, data={})
    return Opening(episode, Changes(source=None, target=state, log=log, episode={},
                                    opened=tuple(milestones), raised=tuple(raised),
                                    records=records, actor=actor, now=now))
