"""Pathway definitions as versioned data: windows, reminder rules and thresholds.

Version 1 is PATHWAY.md, shipped as `definitions/v1.json` and stored in the
`pathway_versions` table by the first migration. A new version is a new row; an episode keeps
the version it started on, so a new version never reinterprets work in flight.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathway.vocabulary import Agent, MilestoneKind, Priority, ReminderKind


class Anchor(StrEnum):
    """What a milestone's day offsets count from."""

    DAY0 = "day0"
    THERAPY_START = "therapy_start"


class MilestoneRule(BaseModel):
    """The window of one milestone and the reminders it raises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due_days: int = Field(ge=0, le=3650)
    overdue_days: int = Field(ge=0, le=3650)
    anchor: Anchor
    overdue_reminder: ReminderKind
    heads_up_reminder: ReminderKind | None = None
    applies_while: str
    seeds: list[str]
    rule: str

    @model_validator(mode="after")
    def _overdue_not_before_due(self) -> MilestoneRule:
        if self.overdue_days < self.due_days:
            raise ValueError("overdue_days must not be before due_days")
        return self


class ReminderRule(BaseModel):
    """How a reminder kind is ranked, whether it escalates, and why it exists."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: Priority
    escalates: bool
    seeds: list[str]
    rule: str


class KpiBands(BaseModel):
    """Red / amber / green thresholds (fractions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    green: float = Field(ge=0, le=1)
    amber: float = Field(ge=0, le=1)


class PathwayDefinition(BaseModel):
    """One pathway version: everything in PATHWAY.md that is configuration, not code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    title: str
    site_note: str = ""
    milestones: dict[MilestoneKind, MilestoneRule]
    reminders: dict[ReminderKind, ReminderRule]
    osteoporosis_agents: list[Agent]
    escalation_days: int = Field(ge=1, le=365)
    augmentation_review_rearm_days: int = Field(ge=1, le=365)
    plan_decision_rearm_days: int = Field(ge=0, le=365)
    repeat_mri_after_days: int = Field(ge=1, le=3650)
    kpi_bands: KpiBands

    @model_validator(mode="after")
    def _complete(self) -> PathwayDefinition:
        missing_m = set(MilestoneKind) - set(self.milestones)
        missing_r = set(ReminderKind) - set(self.reminders)
        if missing_m or missing_r:
            names = sorted(str(x) for x in missing_m | missing_r)
            raise ValueError(f"definition lacks rules for: {', '.join(names)}")
        return self

    def milestone(self, kind: MilestoneKind) -> MilestoneRule:
        """The rule of one milestone kind."""
        return self.milestones[kind]

    def reminder(self, kind: ReminderKind) -> ReminderRule:
        """The rule of one reminder kind."""
        return self.reminders[kind]

    def as_data(self) -> dict[str, Any]:
        """The definition as plain JSON-ready data."""
        return self.model_dump(mode="json")


def builtin_definition(version: int = 1) -> PathwayDefinition:
    """Load a definition shipped with the package (`definitions/v{version}.json`)."""
    text = resources.files("pathway.definitions").joinpath(f"v{version}.json").read_text()
    return PathwayDefinition.model_validate(json.loads(text))


def parse_definition(data: dict[str, Any]) -> PathwayDefinition:
    """Validate a definition from stored or uploaded JSON."""
    return PathwayDefinition.model_validate(data)
