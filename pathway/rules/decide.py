"""Decide what an event or an opening changes: `decide_event` and `decide_opening`.

Pure functions of an episode snapshot, the episode's pathway version and the event: no I/O.
The store applies the `Changes` they return; a refusal raises `TransitionRefused` (naming the
state and the events allowed) and nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from pathway.definition import Anchor, MilestoneRule, PathwayDefinition, Reopen
from pathway.errors import TransitionRefused
from pathway.event_data import EventData
from pathway.rules.alerts import Alerting, due_alerts, new_milestone, reminder
from pathway.rules.changes import Changes, ClosedMilestone, LogRow, NewMilestone, Record
from pathway.rules.guards import Track
from pathway.rules.machine import allowed_events, fire
from pathway.rules.snapshot import EpisodeSnapshot
from pathway.rules.table import OPEN_EPISODE, RuleTable, entering, matches, table_of
from pathway.rules.work import Work
from pathway.vocabulary import CareState, Fact, MilestoneStatus, TransitionEvent

MET, VOID = MilestoneStatus.MET.value, MilestoneStatus.VOID.value
_TRANSITIONS = frozenset(e.value for e in TransitionEvent)
_CLOSED = CareState.CLOSED.value


def track_of(snapshot: EpisodeSnapshot) -> Track:
    """What the machine's guards read of an episode."""
    return Track(state=snapshot.state, neuro_intact=snapshot.neuro_intact,
                 instability=snapshot.instability, cord_compression=snapshot.cord_compression,
                 red_flags_open=snapshot.red_flags_open)


def decide_event(snapshot: EpisodeSnapshot, definition: PathwayDefinition, *, event: str,
                 payload: EventData, occurred_on: dt.date, now: dt.datetime, zone: ZoneInfo,
                 actor: str) -> Changes:
    """What `event` (a transition or a fact, its data validated) does to the episode."""
    data = payload.model_dump(mode="json", exclude_none=True)
    source = snapshot.state
    track = track_of(snapshot)
    if event in _TRANSITIONS:
        target = fire(track, event, data)
    elif source == _CLOSED:
        raise TransitionRefused(event, source, allowed_events(track))
    else:
        target = source
    work = Work(snapshot, table_of(definition), occurred_on=occurred_on, zone=zone, now=now)
    if event in _TRANSITIONS:
        _track_facts(work, event, data)
        _transition(work, event, data, source, target)
    else:
        _fact(work, event, data)
    work.raise_due()
    episode: dict[str, Any] = {"state": target, "version": snapshot.version + 1,
                               "updated_at": now, **work.episode, **work.summary()}
    if target == _CLOSED:
        episode["closed_at"] = now
    log = LogRow(seq=snapshot.version + 1, name=event, occurred_on=occurred_on, recorded_at=now,
                 actor=actor, source_state=source, target_state=target, data=data)
    return work.changes(source=source, target=target, log=log, episode=episode, actor=actor)


def _track_facts(work: Work, event: str, data: Mapping[str, Any]) -> None:
    """Facts carried by transitions: red flags, imaging records."""
    if event == TransitionEvent.SUSPECT_MALIGNANCY:
        work.episode["red_flags_open"] = True
    elif event == TransitionEvent.EXCLUDE_MALIGNANCY:
        work.episode["red_flags_open"] = False
    elif event == TransitionEvent.RECORD_IMAGING:
        work.records.append(Record("imaging", {"modality": data["modality"],
                                               "performed_on": work.occurred_on,
                                               "finding": data["finding"]}))
    work.resolve(work.table.resolved_by(event, event, data), event)


def _transition(work: Work, event: str, data: Mapping[str, Any], source: str,
                target: str) -> None:
    """Close the milestone of the state left, open the one of the state entered."""
    table = work.table
    watched = table.watched_by_state.get(source)
    if watched is not None:
        rule = table.milestone(watched)
        met = any(matches(t, event, data, table.definition) for t in rule.met_by)
        work.close(watched.value, MET if met else VOID, work.occurred_on)
    if target == _CLOSED:
        work.close_all()
        return
    if source != target:
        trigger = entering(target)
        work.resolve(table.resolved_by(trigger, event, data), trigger)
    entered = table.watched_by_state.get(target)
    if entered is None:
        return
    rule = table.milestone(entered)
    if source == target and rule.rearm_days is not None:  # re-armed from the decision day
        work.open(entered.value, rule, work.occurred_on, due_days=rule.rearm_days)
    else:
        work.open(entered.value, rule, _anchor(work, rule, work.occurred_on))


def _anchor(work: Work, rule: MilestoneRule, event_on: dt.date) -> dt.date:
    if rule.anchor == Anchor.DAY0:
        return work.snapshot.identified_on
    return event_on  # EVENT, THERAPY_START: the day the opening event gives


def _fact(work: Work, event: str, data: Mapping[str, Any]) -> None:
    """A bone-health or clinical fact: milestones met, voided, declined or opened; reminders
    raised at once; records kept."""
    definition = work.table.definition
    on = _day_of(data, work.occurred_on)
    if event == Fact.RECORD_THERAPY:
        work.records.append(Record("therapy", {"agent": data["agent"], "started_on": on,
                                               "dose": data.get("dose")}))
    if event == Fact.RECORD_NEURO_CHANGE:
        work.episode["neuro_intact"] = False
    def hit(triggers: list[str]) -> bool:
        return any(matches(t, event, data, definition) for t in triggers)

    for kind, rule in work.table.tracked:
        if hit(rule.met_by):
            work.close(kind.value, MET, on)
        elif hit(rule.voided_by):
            work.close(kind.value, VOID, on)
        elif hit(rule.declined_by):
            work.close(kind.value, _declined_as(data), on)
        if hit(rule.opened_by) and _may_open(work, kind.value, rule) and not any(
                work.met(k) for k in rule.unless_met):
            work.open(kind.value, rule, _anchor(work, rule, on))
    _raise_at_once(work, event, data)


#: The data field that gives a fact's own day, where it has one (else the day it occurred).
DAY_FIELDS = ("started_on", "recommended_on", "performed_on", "assessed_on", "sent_on")


def _day_of(data: Mapping[str, Any], occurred_on: dt.date) -> dt.date:
    on = next((data[f] for f in DAY_FIELDS if data.get(f) is not None), occurred_on)
    return dt.date.fromisoformat(on) if isinstance(on, str) else on


def _declined_as(data: Mapping[str, Any]) -> str:
    """A declining fact closes its milestone as contraindicated or (any other reason: not
    indicated, declined, unable) declined; the reason itself is in the event log."""
    if data.get("reason") == MilestoneStatus.CONTRAINDICATED.value:
        return MilestoneStatus.CONTRAINDICATED.value
    return MilestoneStatus.DECLINED.value


def _may_open(work: Work, kind: str, rule: MilestoneRule) -> bool:
    if rule.reopen == Reopen.ALWAYS:
        return True
    if rule.reopen == Reopen.WHEN_NONE_OPEN:
        return not work.open_of(kind)
    return not work.ever_had(kind)


def _raise_at_once(work: Work, event: str, data: Mapping[str, Any]) -> None:
    definition = work.table.definition
    for kind, rule in work.table.raised_by_fact:
        if not any(matches(t, event, data, definition) for t in rule.raised_by):
            continue
        if work.snapshot.state in rule.not_in_states:
            continue
        if rule.needs_stale_imaging and not _imaging_stale(work, definition):
            continue
        work.raised.append(reminder(definition, kind.value, work.occurred_on, work.now, None))


def _imaging_stale(work: Work, definition: PathwayDefinition) -> bool:
    latest = work.snapshot.latest_imaging_on
    return latest is None or (work.occurred_on - latest).days > definition.repeat_mri_after_days


def opening_milestones(table: RuleTable, *, identified_on: dt.date, zone: ZoneInfo
                       ) -> list[NewMilestone]:
    """The milestones an episode opens with: the one watching `assessed` and those opened by
    `open_episode`."""
    found: list[NewMilestone] = []
    watched = table.watched_by_state.get(CareState.ASSESSED.value)
    if watched is not None:
        found.append(new_milestone(watched.value, table.milestone(watched), identified_on, zone,
                                   first_of_kind=True))
    for kind, rule in table.tracked:
        if OPEN_EPISODE in rule.opened_by:
            found.append(new_milestone(kind.value, rule, identified_on, zone,
                                       first_of_kind=True))
    return found


def opening_alerts(definition: PathwayDefinition, milestones: list[NewMilestone],
                   now: dt.datetime) -> tuple[list[NewMilestone], list[Any]]:
    """An episode opened late: what its new milestones raise at once, and the milestones
    with their alerts moved on."""
    raised: list[Any] = []
    armed: list[NewMilestone] = []
    for index, milestone in enumerate(milestones):
        found, moved = due_alerts(definition, Alerting(
            milestone.kind, milestone.due_on, milestone.overdue_on, milestone.overdue_at,
            milestone.next_alert_at, milestone.next_alert_kind), now, ("new", index))
        raised += found
        armed.append(milestone if moved is None else replace(
            milestone, next_alert_at=moved.next_alert_at, next_alert_kind=moved.next_alert_kind,
            status=moved.status or milestone.status, met_on=moved.met_on))
    return armed, raised


__all__ = ["ClosedMilestone", "decide_event", "opening_alerts", "opening_milestones"]
