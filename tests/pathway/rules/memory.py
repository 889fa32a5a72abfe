"""An episode run through the rules in memory, no database: open, send events, see what the
rules decided (milestones open, reminders raised and resolved)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from pathway.definition import PathwayDefinition
from pathway.event_data import validate_event_data, validate_model
from pathway.intake import IntakeAssessment
from pathway.rules.after import snapshot_after
from pathway.rules.changes import Changes
from pathway.rules.decide import decide_event
from pathway.rules.opening import decide_opening
from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot, PatientSnapshot
from tests.builders import DAY0, UTC, at, intake

_ids = itertools.count(1)


@dataclass
class MemoryEpisode:
    """One episode's life as the rules decide it."""

    definition: PathwayDefinition
    snapshot: EpisodeSnapshot
    raised: list[tuple[str, dt.date]] = field(default_factory=list)
    resolved: list[tuple[tuple[str, ...] | None, str]] = field(default_factory=list)
    last: Changes | None = None

    @classmethod
    def open(cls, definition: PathwayDefinition, day: int = 0, **overrides: Any
             ) -> MemoryEpisode:
        sent = validate_model(IntakeAssessment, intake(**overrides), "intake")
        opening = decide_opening(sent, definition, now=at(day), zone=UTC, actor="test")
        patient = PatientSnapshot(id=1, mrn=sent.patient.mrn, name=None, birth_date=None,
                                  created_at=at(day))
        snapshot = EpisodeSnapshot(id=1, patient_id=1, patient=patient, **opening.episode)
        episode = cls(definition, snapshot)
        episode._take(opening.changes, 0)
        return episode

    def _take(self, changes: Changes, version: int) -> None:
        ids = tuple(next(_ids) for _ in changes.opened)
        self.snapshot = snapshot_after(self.snapshot, changes, ids)
        self.raised += [(r.kind, r.due_on) for r in changes.raised]
        self.resolved += [(r.kinds, r.resolution) for r in changes.resolved]
        self.last = changes

    def send(self, event: str, day: int, **data: Any) -> Changes:
        """Decide `event` on day `day` (occurred and recorded that day) and keep the result."""
        changes = decide_event(self.snapshot, self.definition, event=event,
                               payload=validate_event_data(event, data),
                               occurred_on=DAY0 + dt.timedelta(days=day), now=at(day),
                               zone=UTC, actor="test")
        self._take(changes, self.snapshot.version)
        return changes

    def open_kinds(self) -> dict[str, MilestoneSnapshot]:
        return {m.kind: m for m in self.snapshot.milestones if m.is_open}

    def of_kind(self, kind: str) -> list[MilestoneSnapshot]:
        return [m for m in self.snapshot.milestones if m.kind == kind]


def variant(definition: PathwayDefinition, milestone: str | None = None,
            reminder: str | None = None, **changes: Any) -> PathwayDefinition:
    """A copy of `definition` with one milestone's, one reminder's or its own fields changed."""
    data = definition.as_data()
    if milestone is not None:
        data["milestones"][milestone].update(changes)
    elif reminder is not None:
        data["reminders"][reminder].update(changes)
    else:
        data.update(changes)
    return PathwayDefinition.model_validate(data)


__all__ = ["MemoryEpisode", "replace", "variant"]
