"""The rule table of one pathway version, indexed for the questions the rules ask.

Built once per definition (definitions are immutable once stored) from its fields alone:
which milestone watches each state, what each trigger opens, meets, voids or declines, which
reminders a fact raises or an event resolves.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pathway.definition import MilestoneRule, PathwayDefinition, ReminderRule, Trigger
from pathway.vocabulary import Fact, MilestoneKind, ReminderKind

OPEN_EPISODE = "open_episode"
OSTEOPOROSIS_AGENT = "osteoporosis_agent"


def matches(trigger: Trigger, event: str, data: Mapping[str, Any],
            definition: PathwayDefinition) -> bool:
    """Whether `event` with `data` is `trigger`: `name`, or `name:qualifier` where the
    qualifier is the data's agent or kind (`record_therapy:calcitonin`), any osteoporosis
    agent (`osteoporosis_agent`), or a field the data carries (`record_dxa:not_done`)."""
    name, _, qualifier = trigger.partition(":")
    if name != event:
        return False
    if not qualifier:
        return True
    value = data.get("agent", data.get("kind"))
    if qualifier == OSTEOPOROSIS_AGENT:
        return value in definition.osteoporosis_agents
    return bool(value == qualifier) or data.get(qualifier) is not None


def entering(state: str) -> Trigger:
    """The trigger of entering `state`."""
    return f"enter:{state}"


@dataclass(frozen=True)
class RuleTable:
    """One version's rules, indexed."""

    definition: PathwayDefinition
    watched_by_state: dict[str, MilestoneKind]
    #: Bone-health milestones, in the definition's order.
    tracked: tuple[tuple[MilestoneKind, MilestoneRule], ...]
    raised_by_fact: tuple[tuple[ReminderKind, ReminderRule], ...]
    heads_up_then: dict[str, str]
    #: overdue kind -> the heads-up kind it supersedes on its milestone (one per task).
    heads_up_of: dict[str, str]
    #: Reminder kinds raised only by events (`raised_by`), never by a milestone.
    event_raised: frozenset[str]

    def milestone(self, kind: str) -> MilestoneRule:
        return self.definition.milestones[MilestoneKind(kind)]

    def reminder(self, kind: str) -> ReminderRule:
        return self.definition.reminders[ReminderKind(kind)]

    def resolved_by(self, trigger: Trigger, event: str, data: Mapping[str, Any]
                    ) -> tuple[str, ...]:
        """Reminder kinds that `trigger` (an event or `enter:<state>`) resolves."""
        return tuple(k.value for k, r in self.definition.reminders.items()
                     if any(t == trigger or matches(t, event, data, self.definition)
                            for t in r.resolved_by))

    def reads_imaging(self, event: str) -> bool:
        """Whether deciding `event` needs the episode's latest imaging date."""
        return any(r.needs_stale_imaging and any(t.partition(":")[0] == event
                                                 for t in r.raised_by)
                   for _k, r in self.raised_by_fact)


_tables: dict[int, tuple[PathwayDefinition, RuleTable]] = {}


def table_of(definition: PathwayDefinition) -> RuleTable:
    """The indexed rule table of `definition` (kept as long as the process)."""
    kept = _tables.get(id(definition))
    if kept is not None and kept[0] is definition:
        return kept[1]
    table = _build(definition)
    _tables[id(definition)] = (definition, table)
    return table


def _build(definition: PathwayDefinition) -> RuleTable:
    milestones = definition.milestones
    return RuleTable(
        definition=definition,
        watched_by_state={r.watches.value: k for k, r in milestones.items()
                          if r.watches is not None},
        tracked=tuple((k, r) for k, r in milestones.items() if r.watches is None),
        raised_by_fact=tuple((k, r) for k, r in definition.reminders.items() if r.raised_by),
        heads_up_then=heads_up_then((definition,)),
        heads_up_of={v: k for k, v in heads_up_then((definition,)).items()},
        event_raised=frozenset(k.value for k, r in definition.reminders.items() if r.raised_by)
        - {r.overdue_reminder.value for r in milestones.values()}
        - {r.heads_up_reminder.value for r in milestones.values() if r.heads_up_reminder},
    )


def heads_up_then(definitions: tuple[PathwayDefinition, ...]) -> dict[str, str]:
    """heads-up kind -> the overdue kind armed after it; versions must agree (the bulk scan
    reads the kind alone)."""
    found: dict[str, str] = {}
    for definition in definitions:
        for rule in definition.milestones.values():
            heads_up = rule.heads_up_reminder
            if heads_up is None or heads_up == rule.overdue_reminder:
                continue
            if found.setdefault(heads_up.value, rule.overdue_reminder.value) != (
                    rule.overdue_reminder.value):
                raise ValueError(f"versions disagree on what follows {heads_up.value}")
    return found


@functools.cache
def fact_names() -> frozenset[str]:
    return frozenset(f.value for f in Fact)
