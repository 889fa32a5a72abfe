"""Pathway definitions as versioned data: the one table of the pathway's rules.

Version 1 is PATHWAY.md, shipped as `definitions/v1.json` and stored in the
`pathway_versions` table by the first migration. A new version is a new row; an episode keeps
the version it started on, so a new version never reinterprets work in flight.

Every field is read by `pathway.rules` (a test per field changes it in a test version and
shows the behaviour follows, tests/pathway/rules/test_definition_fields.py). A *trigger* names
an event or fact, optionally qualified after a colon by a value of its data: the therapy's
agent (or `osteoporosis_agent`, any of `osteoporosis_agents`), the contact's kind; the
opening of an episode is `open_episode`, entering a state is `enter:<state>`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathway.vocabulary import Agent, CareState, MilestoneKind, Priority, ReminderKind

Trigger = str


class Anchor(StrEnum):
    """What a milestone's day offsets count from."""

    DAY0 = "day0"  # the episode's identified_on
    EVENT = "event"  # the day the event that opened it occurred
    THERAPY_START = "therapy_start"  # the started_on of the therapy that opened it


class Reopen(StrEnum):
    """Whether a trigger opens another milestone of a kind the episode already has had."""

    NEVER = "never"  # once per episode
    WHEN_NONE_OPEN = "when_none_open"
    ALWAYS = "always"  # the open one is closed first (by `met_by` or `voided_by`)


class MilestoneRule(BaseModel):
    """One milestone: its window, when it opens, what meets or voids it, what it raises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due_days: int = Field(ge=0, le=3650)
    overdue_days: int = Field(ge=0, le=3650)
    anchor: Anchor
    overdue_reminder: ReminderKind
    heads_up_reminder: ReminderKind | None = None
    #: A fracture-care milestone: open while the episode is in this state; leaving it by one
    #: of `met_by` meets it, by any other event voids it.
    watches: CareState | None = None
    #: Re-armed by an event that keeps the episode in `watches` (review_augmentation
    #: `continue`): the next window starts this many days after the event, same grace.
    rearm_days: int | None = Field(default=None, ge=1, le=365)
    #: A bone-health milestone: the triggers that open it.
    opened_by: list[Trigger] = []
    reopen: Reopen = Reopen.NEVER
    met_by: list[Trigger] = []
    voided_by: list[Trigger] = []
    #: Triggers that close it as declined or contraindicated (the fact's `reason`).
    declined_by: list[Trigger] = []
    #: Not opened when the episode has already met one of these milestones (a treatment
    #: gap is not opened by a recommendation recorded after the therapy started).
    unless_met: list[MilestoneKind] = []
    #: A notice, not an obligation: met once its reminder is raised.
    ends_when_raised: bool = False
    seeds: list[str]
    rule: str

    @model_validator(mode="after")
    def _consistent(self) -> MilestoneRule:
        if self.overdue_days < self.due_days:
            raise ValueError("overdue_days must not be before due_days")
        if (self.watches is None) == (not self.opened_by):
            raise ValueError("a milestone either watches a state or is opened by triggers")
        return self


class ReminderRule(BaseModel):
    """How a reminder kind is ranked, whether it escalates, what raises and resolves it at
    once (besides its milestone's scan), and why it exists."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: Priority
    escalates: bool
    #: Facts that raise it at once, due on the day they occurred.
    raised_by: list[Trigger] = []
    #: ... unless the episode is in one of these states.
    not_in_states: list[CareState] = []
    #: ... and only when the latest imaging is older than `repeat_mri_after_days`.
    needs_stale_imaging: bool = False
    #: Events (or `enter:<state>`) that resolve an open one.
    resolved_by: list[Trigger] = []
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
    repeat_mri_after_days: int = Field(ge=1, le=3650)
    kpi_bands: KpiBands

    @model_validator(mode="after")
    def _complete(self) -> PathwayDefinition:
        """A version has the milestones it lists (version 1 has none of the fracture liaison
        data set); every reminder its milestones name has a rule, every milestone named by
        `unless_met` is in the version."""
        named_r = {r.overdue_reminder for r in self.milestones.values()} | {
            r.heads_up_reminder for r in self.milestones.values() if r.heads_up_reminder}
        named_m = {k for r in self.milestones.values() for k in r.unless_met}
        missing = sorted(str(x) for x in (named_r - set(self.reminders))
                         | (named_m - set(self.milestones)))
        if missing:
            raise ValueError(f"definition lacks rules for: {', '.join(missing)}")
        watched = [r.watches for r in self.milestones.values() if r.watches is not None]
        if len(watched) != len(set(watched)):
            raise ValueError("two milestones watch the same state")
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


#: The newest version shipped in `definitions/` (migration 0008 stores it as the current one).
LATEST_BUILTIN = 2


def builtin_definition(version: int = 1) -> PathwayDefinition:
    """Load a definition shipped with the package (`definitions/v{version}.json`)."""
    text = resources.files("pathway.definitions").joinpath(f"v{version}.json").read_text()
    return PathwayDefinition.model_validate(json.loads(text))


def parse_definition(data: dict[str, Any]) -> PathwayDefinition:
    """Validate a definition from stored or uploaded JSON."""
    return PathwayDefinition.model_validate(data)
