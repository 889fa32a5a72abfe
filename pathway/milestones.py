"""Milestone rules: which obligations an episode has, when they are due, and what meets them.

Every window is an offset in days from an anchor date (day 0, a therapy start, a decision
date) read from the episode's pathway version; a day starts at 00:00 in the site's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pathway import direct, rows
from pathway.clock import day_start
from pathway.definition import MilestoneRule, PathwayDefinition
from pathway.models import Episode, Milestone
from pathway.vocabulary import (
    CareState,
    MilestoneKind,
    MilestoneStatus,
    ReminderKind,
    TransitionEvent,
)

#: The fracture-care milestone that watches each state.
WATCHED_BY_STATE: dict[str, MilestoneKind] = {
    CareState.ASSESSED: MilestoneKind.PLAN_DECISION,
    CareState.CONSERVATIVE_CARE: MilestoneKind.REASSESSMENT,
    CareState.REASSESSED: MilestoneKind.FOLLOWUP_IMAGING,
    CareState.IMAGED: MilestoneKind.AUGMENTATION_REVIEW,
}

#: The event that meets a state's milestone when it leaves the state (others void it).
MET_BY_EVENT: dict[MilestoneKind, frozenset[str]] = {
    MilestoneKind.PLAN_DECISION: frozenset(
        e.value for e in TransitionEvent if e != TransitionEvent.CLOSE
    ),
    MilestoneKind.REASSESSMENT: frozenset({TransitionEvent.RECORD_REASSESSMENT.value}),
    MilestoneKind.FOLLOWUP_IMAGING: frozenset({TransitionEvent.RECORD_IMAGING.value}),
    MilestoneKind.AUGMENTATION_REVIEW: frozenset({TransitionEvent.REVIEW_AUGMENTATION.value}),
}

#: Milestones that belong to the bone-health track and outlive the fracture-care track.
BONE_HEALTH: frozenset[MilestoneKind] = frozenset(
    {
        MilestoneKind.OSTEOPOROSIS_THERAPY,
        MilestoneKind.CALCIUM_VITAMIN_D,
        MilestoneKind.CALCITONIN_COURSE_END,
        MilestoneKind.DENOSUMAB_NEXT_DOSE,
        MilestoneKind.LIAISON_MONITORING,
        MilestoneKind.ADHERENCE_REVIEW,
    }
)

#: Opened for every episode at intake.
AT_INTAKE: tuple[MilestoneKind, ...] = (
    MilestoneKind.PLAN_DECISION,
    MilestoneKind.OSTEOPOROSIS_THERAPY,
    MilestoneKind.CALCIUM_VITAMIN_D,
    MilestoneKind.LIAISON_MONITORING,
)


@dataclass(frozen=True)
class Window:
    """A milestone's due and overdue calendar days."""

    due_on: dt.date
    overdue_on: dt.date


def window_for(
    definition: PathwayDefinition, kind: MilestoneKind, anchor_on: dt.date, shift_days: int = 0
) -> Window:
    """The window of `kind` counted from `anchor_on` (plus `shift_days` for re-armed reviews)."""
    rule = definition.milestone(kind)
    due = anchor_on + dt.timedelta(days=rule.due_days + shift_days)
    return Window(due, due + dt.timedelta(days=rule.overdue_days - rule.due_days))


def first_alert(
    rule: MilestoneRule, due_at: dt.datetime, overdue_at: dt.datetime
) -> tuple[dt.datetime, ReminderKind]:
    """The alert a new milestone is armed with: the heads-up if it has one, else the overdue."""
    if rule.heads_up_reminder is not None and due_at < overdue_at:
        return due_at, rule.heads_up_reminder
    return overdue_at, rule.overdue_reminder


def has_alerted(milestone: Milestone, definition: PathwayDefinition) -> bool:
    """Whether the scan has raised a reminder for this milestone: only the scan moves its alert
    on from the first one. Lets a closing milestone skip looking for reminders to resolve."""
    rule = definition.milestone(MilestoneKind(milestone.kind))
    first_at, _kind = first_alert(rule, milestone.due_at, milestone.overdue_at)
    return milestone.next_alert_at != first_at


def alert_due(milestones: Iterable[Milestone], now: dt.datetime) -> bool:
    """Whether any of these milestones has an alert due by `now` (what the scan would raise)."""
    return any(m.next_alert_at is not None and m.next_alert_at <= now for m in milestones)


def new_milestone(
    *,
    episode: Episode,
    definition: PathwayDefinition,
    kind: MilestoneKind,
    anchor_on: dt.date,
    zone: ZoneInfo,
    now: dt.datetime,
    first_of_kind: bool,
    shift_days: int = 0,
) -> Milestone:
    """Build an open milestone with its timestamps and its first alert armed; `first_of_kind`
    says whether the episode has had none of its kind before (the KPIs count the first)."""
    rule = definition.milestone(kind)
    window = window_for(definition, kind, anchor_on, shift_days)
    due_at = day_start(window.due_on, zone)
    overdue_at = day_start(window.overdue_on, zone)
    alert_at, alert_kind = first_alert(rule, due_at, overdue_at)
    return rows.build(
        Milestone,
        episode_id=episode.id,
        kind=kind.value,
        status=MilestoneStatus.OPEN.value,
        anchor_on=anchor_on,
        due_on=window.due_on,
        overdue_on=window.overdue_on,
        due_at=due_at,
        overdue_at=overdue_at,
        next_alert_at=alert_at,
        next_alert_kind=alert_kind.value,
        created_at=now,
        first_of_kind=first_of_kind,
    )


def closing_values(status: MilestoneStatus, on: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The column values of a milestone met, declined or void: it leaves the scheduler's
    index. (Written with `rows.update`, which keeps the loaded object in step.)"""
    return {
        "status": status.value,
        "met_on": on if status != MilestoneStatus.VOID else None,
        "closed_at": now,
        "next_alert_at": None,
        "next_alert_kind": None,
    }


# Built once: constructing a SELECT costs more than running it on an indexed key.
_ALL_OF_EPISODE = (
    select(*Milestone.__table__.columns).where(Milestone.episode_id == bindparam("episode_id"))
    .order_by(Milestone.id)
)
_OPEN_OF_EPISODE = (
    select(*Milestone.__table__.columns)
    .where(Milestone.episode_id == bindparam("episode_id"),
           Milestone.status == MilestoneStatus.OPEN.value)
    .order_by(Milestone.overdue_at, Milestone.id)
)


def open_milestones(session: Session, episode_id: int) -> list[Milestone]:
    """The episode's open milestones, soonest overdue first."""
    return direct.load(session, Milestone, _OPEN_OF_EPISODE, {"episode_id": episode_id})


def all_milestones(session: Session, episode_id: int) -> list[Milestone]:
    """Every milestone the episode ever had, in creation order."""
    return direct.load(session, Milestone, _ALL_OF_EPISODE, {"episode_id": episode_id})


def of_kind(milestones: Iterable[Milestone], kind: MilestoneKind) -> list[Milestone]:
    """The milestones of one kind."""
    name = kind.value
    return [m for m in milestones if m.kind == name]


def summary(open_rows: Iterable[Milestone]) -> dict[str, Any]:
    """The episode's denormalised next-overdue columns, from its open milestones."""
    # Rows are compared by id on a tie; all have one (they are inserted as they are opened).
    soonest = min(open_rows, key=lambda m: (m.overdue_at, m.id or 0), default=None)
    return {
        "next_overdue_at": soonest.overdue_at if soonest else None,
        "next_milestone": soonest.kind if soonest else None,
    }
