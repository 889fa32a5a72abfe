"""What an event does besides moving the state: milestones opened, met or voided, records kept,
reminders raised or resolved. Everything here runs inside the use case's transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pathway import rows
from pathway.definition import PathwayDefinition
from pathway.event_data import (
    DeclineTherapy,
    EventData,
    RecordContact,
    RecordImaging,
    RecordTherapy,
)
from pathway.milestones import (
    MET_BY_EVENT,
    WATCHED_BY_STATE,
    closing_values,
    new_milestone,
    of_kind,
)
from pathway.models import Episode, EventRecord, ImagingRecord, Milestone, TherapyRecord
from pathway.reminders import raise_reminder, resolve_all_open, resolve_for_milestones
from pathway.vocabulary import (
    Agent,
    CareState,
    ContactKind,
    Fact,
    MilestoneKind,
    MilestoneStatus,
    ReminderKind,
    TransitionEvent,
)


@dataclass
class EffectContext:
    """Everything an effect needs: the episode, its definition, the event and the clock."""

    session: Session
    episode: Episode
    definition: PathwayDefinition
    record: EventRecord
    data: EventData
    milestones: list[Milestone]
    zone: ZoneInfo
    now: dt.datetime
    actor: str
    #: Episode columns the effects change; the use case writes them with its summary.
    episode_changes: dict[str, Any] = field(default_factory=dict)

    @property
    def occurred_on(self) -> dt.date:
        return self.record.occurred_on

    def open(self, kind: MilestoneKind, anchor_on: dt.date, shift_days: int = 0) -> Milestone:
        row = new_milestone(episode=self.episode, definition=self.definition, kind=kind,
                            anchor_on=anchor_on, zone=self.zone, now=self.now,
                            first_of_kind=not of_kind(self.milestones, kind),
                            shift_days=shift_days)
        rows.insert_one(self.session, row)
        self.milestones.append(row)
        return row

    def close(self, milestones: list[Milestone], status: MilestoneStatus, on: dt.date) -> None:
        values = closing_values(status, on, self.now)
        for milestone in milestones:
            rows.update(self.session, milestone, values)
        # Always look (one indexed query), never decide from the milestone as read before the
        # update: a scan in another process may have raised its reminder meanwhile, and the
        # update above waited for that scan's row lock (see pathway.reminders).
        resolution = "milestone_met" if status != MilestoneStatus.VOID else "no_longer_applies"
        resolve_for_milestones(self.session, milestones, resolution=resolution,
                               actor=self.actor, now=self.now)

    def open_of(self, kind: MilestoneKind) -> list[Milestone]:
        return [m for m in of_kind(self.milestones, kind) if m.status == MilestoneStatus.OPEN]

    def raise_now(self, kind: ReminderKind) -> None:
        raise_reminder(self.session, episode=self.episode, definition=self.definition,
                       kind=kind, due_on=self.occurred_on, now=self.now, actor=self.actor)


def on_transition(ctx: EffectContext, source: str, target: str) -> None:
    """Close the milestone of the state left, open the one of the state entered."""
    event = ctx.record.name
    watched = WATCHED_BY_STATE.get(source)
    if watched is not None:
        met = event in MET_BY_EVENT[watched]
        ctx.close(ctx.open_of(watched), MilestoneStatus.MET if met else MilestoneStatus.VOID,
                  ctx.occurred_on)
    if target == CareState.CLOSED:
        ctx.close([m for m in ctx.milestones if m.status == MilestoneStatus.OPEN],
                  MilestoneStatus.VOID, ctx.occurred_on)
        resolve_all_open(ctx.session, ctx.episode.id, resolution="episode_closed",
                         actor=ctx.actor, now=ctx.now)
        return
    if target == CareState.SURGICAL_REFERRAL:
        # The urgent surgical review has happened: the patient is with the surgeons.
        resolve_all_open(ctx.session, ctx.episode.id, resolution="referred_to_surgery",
                         actor=ctx.actor, now=ctx.now,
                         kinds=[ReminderKind.URGENT_SURGICAL_REVIEW])
    entered = WATCHED_BY_STATE.get(target)
    if entered is None:
        return
    if target == CareState.ASSESSED:
        # Back from a work-up: a new plan decision, counted from the day malignancy was excluded.
        ctx.open(entered, ctx.occurred_on)
    elif source == target:
        # review_augmentation `continue`: the review is re-armed from the decision date.
        ctx.open(entered, ctx.occurred_on,
                 shift_days=ctx.definition.augmentation_review_rearm_days
                 - ctx.definition.milestone(entered).due_days)
    else:
        ctx.open(entered, ctx.episode.identified_on)


def on_track_facts(ctx: EffectContext) -> None:
    """Facts carried by transitions: red flags, imaging records."""
    name = ctx.record.name
    if name == TransitionEvent.SUSPECT_MALIGNANCY:
        ctx.episode_changes["red_flags_open"] = True
    elif name == TransitionEvent.EXCLUDE_MALIGNANCY:
        ctx.episode_changes["red_flags_open"] = False
    elif name == TransitionEvent.RECORD_IMAGING:
        assert isinstance(ctx.data, RecordImaging)
        resolve_all_open(ctx.session, ctx.episode.id, resolution="imaging_recorded",
                         actor=ctx.actor, now=ctx.now, kinds=[ReminderKind.REPEAT_MRI_NEEDED])
        rows.insert_one(ctx.session, rows.build(
            ImagingRecord,
            episode_id=ctx.episode.id, modality=ctx.data.modality.value,
            performed_on=ctx.occurred_on, finding=ctx.data.finding.value, event_id=ctx.record.id))


def on_fact(ctx: EffectContext) -> None:
    """Apply a bone-health or clinical fact."""
    name = ctx.record.name
    if name == Fact.RECORD_THERAPY:
        assert isinstance(ctx.data, RecordTherapy)
        _record_therapy(ctx, ctx.data)
    elif name == Fact.DECLINE_THERAPY:
        assert isinstance(ctx.data, DeclineTherapy)
        status = MilestoneStatus(ctx.data.reason.value)
        ctx.close(ctx.open_of(MilestoneKind.OSTEOPOROSIS_THERAPY), status, ctx.occurred_on)
    elif name == Fact.RECORD_NEURO_CHANGE:
        ctx.episode_changes["neuro_intact"] = False
        if ctx.episode.state != CareState.SURGICAL_REFERRAL:
            ctx.raise_now(ReminderKind.URGENT_SURGICAL_REVIEW)
    elif name == Fact.RECORD_SYMPTOM_CHANGE:
        if _latest_imaging_older_than(ctx, ctx.definition.repeat_mri_after_days):
            ctx.raise_now(ReminderKind.REPEAT_MRI_NEEDED)
    elif name == Fact.RECORD_CONTACT:
        assert isinstance(ctx.data, RecordContact)
        kind = (MilestoneKind.LIAISON_MONITORING
                if ctx.data.kind == ContactKind.LIAISON_MONITORING
                else MilestoneKind.ADHERENCE_REVIEW)
        ctx.close(ctx.open_of(kind), MilestoneStatus.MET, ctx.occurred_on)


def _record_therapy(ctx: EffectContext, data: RecordTherapy) -> None:
    started_on = data.started_on or ctx.occurred_on
    rows.insert_one(ctx.session, rows.build(
        TherapyRecord,
        episode_id=ctx.episode.id, agent=data.agent.value, started_on=started_on, dose=data.dose,
        event_id=ctx.record.id))
    agent = data.agent
    if agent in ctx.definition.osteoporosis_agents:
        ctx.close(ctx.open_of(MilestoneKind.OSTEOPOROSIS_THERAPY), MilestoneStatus.MET, started_on)
        if not of_kind(ctx.milestones, MilestoneKind.ADHERENCE_REVIEW):
            ctx.open(MilestoneKind.ADHERENCE_REVIEW, ctx.episode.identified_on)
        # A dose of denosumab meets the last next-dose milestone and arms the next; another
        # agent means denosumab is no longer the current agent.
        ctx.close(ctx.open_of(MilestoneKind.DENOSUMAB_NEXT_DOSE),
                  MilestoneStatus.MET if agent == Agent.DENOSUMAB else MilestoneStatus.VOID,
                  started_on)
        if agent == Agent.DENOSUMAB:
            ctx.open(MilestoneKind.DENOSUMAB_NEXT_DOSE, started_on)
    if agent == Agent.CALCIUM_VITAMIN_D:
        ctx.close(ctx.open_of(MilestoneKind.CALCIUM_VITAMIN_D), MilestoneStatus.MET, started_on)
    if agent == Agent.CALCITONIN and not ctx.open_of(MilestoneKind.CALCITONIN_COURSE_END):
        ctx.open(MilestoneKind.CALCITONIN_COURSE_END, started_on)


def _latest_imaging_older_than(ctx: EffectContext, days: int) -> bool:
    latest = ctx.session.scalar(
        select(func.max(ImagingRecord.performed_on)).where(
            ImagingRecord.episode_id == ctx.episode.id
        )
    )
    return latest is None or (ctx.occurred_on - latest).days > days
