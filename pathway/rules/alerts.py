"""What falls due and what it raises: the one definition of a milestone's alerts.

A milestone is armed with its first alert (the heads-up if it has one, else the overdue);
when the alert's time comes, its reminder is raised for (episode, kind, due date) and the next
alert is armed (the overdue after a heads-up), or none. A notice (`ends_when_raised`) is met
once raised. The per-episode path (`due_alerts`, used by the use cases) and the set-based scan
(`pathway.store.scan`, its SQL built from `scan_plan`) both come from these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pathway.clock import day_start
from pathway.definition import MilestoneRule, PathwayDefinition
from pathway.rules.changes import AlertMoved, NewMilestone, NewReminder
from pathway.rules.table import heads_up_then, table_of
from pathway.vocabulary import MilestoneStatus, ReminderKind

DAY = dt.timedelta(days=1)


def first_alert(rule: MilestoneRule, due_at: dt.datetime, overdue_at: dt.datetime
                ) -> tuple[dt.datetime, ReminderKind]:
    """The alert a new milestone is armed with: the heads-up if it has one, else the overdue."""
    if rule.heads_up_reminder is not None and due_at < overdue_at:
        return due_at, rule.heads_up_reminder
    return overdue_at, rule.overdue_reminder


def new_milestone(kind: str, rule: MilestoneRule, anchor_on: dt.date, zone: ZoneInfo, *,
                  first_of_kind: bool, due_days: int | None = None) -> NewMilestone:
    """An open milestone counted from `anchor_on` (`due_days` overrides the rule's for a
    re-armed review; the grace to the overdue day stays the rule's)."""
    due_on = anchor_on + DAY * (rule.due_days if due_days is None else due_days)
    overdue_on = due_on + DAY * (rule.overdue_days - rule.due_days)
    due_at, overdue_at = day_start(due_on, zone), day_start(overdue_on, zone)
    alert_at, alert_kind = first_alert(rule, due_at, overdue_at)
    return NewMilestone(kind=kind, anchor_on=anchor_on, due_on=due_on, overdue_on=overdue_on,
                        due_at=due_at, overdue_at=overdue_at, next_alert_at=alert_at,
                        next_alert_kind=alert_kind.value, first_of_kind=first_of_kind)


def reminder(definition: PathwayDefinition, kind: str, due_on: dt.date, now: dt.datetime,
             milestone: int | tuple[str, int] | None) -> NewReminder:
    """A reminder of `kind` with its rule's priority, seeds and escalation time."""
    rule = definition.reminder(ReminderKind(kind))
    escalate_at = now + DAY * definition.escalation_days if rule.escalates else None
    return NewReminder(kind=kind, due_on=due_on, priority=rule.priority.value, rule=rule.rule,
                       seeds=list(rule.seeds), escalate_at=escalate_at, milestone=milestone,
                       supersedes=table_of(definition).heads_up_of.get(kind))


@dataclass(frozen=True, slots=True)
class Alerting:
    """A milestone's alert state, whether stored or about to be opened."""

    kind: str
    due_on: dt.date
    overdue_on: dt.date
    overdue_at: dt.datetime
    next_alert_at: dt.datetime | None
    next_alert_kind: str | None


def due_alerts(definition: PathwayDefinition, milestone: Alerting, now: dt.datetime,
               ref: int | tuple[str, int]) -> tuple[list[NewReminder], AlertMoved | None]:
    """The reminders `milestone` raises by `now` (a heads-up and its overdue may both have
    passed, after downtime) and where its alert moves; nothing when none is due."""
    then = table_of(definition).heads_up_then  # built once per version
    rule = definition.milestones[milestone.kind]  # type: ignore[index]
    at, kind = milestone.next_alert_at, milestone.next_alert_kind
    raised: list[NewReminder] = []
    while at is not None and kind is not None and at <= now:
        heads_up = kind in then
        raised.append(reminder(definition, kind, milestone.due_on if heads_up
                               else milestone.overdue_on, now, ref))
        at, kind = (milestone.overdue_at, then[kind]) if heads_up else (None, None)
    if not raised:
        return [], None
    ends = at is None and rule.ends_when_raised
    return raised, AlertMoved(
        id=ref if isinstance(ref, int) else -1, next_alert_at=at, next_alert_kind=kind,
        status=MilestoneStatus.MET.value if ends else None,
        met_on=milestone.overdue_on if ends else None)


@dataclass(frozen=True)
class ScanPlan:
    """What the set-based scan inlines: per (version, kind) each reminder's rule, and which
    heads-up kinds arm which overdue kind, and the milestone kinds that end when raised."""

    reminders: dict[tuple[int, str], tuple[str, str, list[str], bool]]
    heads_up_then: dict[str, str]
    #: Milestone kinds that are notices (the stored versions must agree: the scan's UPDATE
    #: reads the milestone's kind alone).
    ends_when_raised: frozenset[str]
    escalation_days: dict[int, int]


def scan_plan(definitions: tuple[PathwayDefinition, ...]) -> ScanPlan:
    """The scan's rules for every stored version, from the same table as `due_alerts`."""
    return ScanPlan(
        reminders={(d.version, k.value): (r.priority.value, r.rule, list(r.seeds), r.escalates)
                   for d in definitions for k, r in d.reminders.items()},
        heads_up_then=heads_up_then(definitions),
        ends_when_raised=_notices(definitions),
        escalation_days={d.version: d.escalation_days for d in definitions},
    )


def _notices(definitions: tuple[PathwayDefinition, ...]) -> frozenset[str]:
    """The milestone kinds met once raised, the same in every stored version."""
    found = {frozenset(k.value for k, r in d.milestones.items() if r.ends_when_raised)
             for d in definitions}
    if len(found) > 1:
        raise ValueError("versions disagree on which milestones end when raised")
    return next(iter(found), frozenset())
