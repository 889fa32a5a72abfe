"""Episode use cases: open from an intake assessment, apply an event or fact, replay history.

Each takes `now` and an actor, flushes and never commits: the edge owns the transaction.
Concurrent updates of one episode are caught by the version column (optimistic concurrency):
the loser gets `Conflict` and its transaction changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from pathway import direct, rows
from pathway.clock import local_day
from pathway.effects import EffectContext, on_fact, on_track_facts, on_transition
from pathway.errors import Conflict, InvalidData, NotFound, PreconditionFailed
from pathway.event_data import EARLIEST_DATE, validate_event_data, validate_model
from pathway.intake import IntakeAssessment
from pathway.machine import CareTrack, allowed_events, fire
from pathway.milestones import AT_INTAKE, alert_due, all_milestones, new_milestone, summary
from pathway.models import Episode, EventRecord, ImagingRecord, Patient
from pathway.outbox import enqueue_event
from pathway.reminders import raise_due_reminders
from pathway.versions import current_version, load_definition
from pathway.vocabulary import OPENED_EVENT, CareState, Fact, MilestoneStatus, TransitionEvent

_TRANSITIONS = frozenset(e.value for e in TransitionEvent)
_FACTS = frozenset(f.value for f in Fact)
# Statements built once: building a SELECT costs more than running it on a primary key.
_ROW_BY_ID = select(*Episode.__table__.columns).where(Episode.id == bindparam("id"))
_PATIENT_BY_MRN = select(*Patient.__table__.columns).where(Patient.mrn == bindparam("mrn"))
_ROW_WITH_PATIENT = (select(*Episode.__table__.columns, *Patient.__table__.columns)
                     .join_from(Episode, Patient, Episode.patient_id == Patient.id)
                     .where(Episode.id == bindparam("id")))


def care_track(episode: Episode) -> CareTrack:
    """The adapter the state machine runs on."""
    return CareTrack(
        state=episode.state,
        neuro_intact=episode.neuro_intact,
        instability=episode.instability,
        cord_compression=episode.cord_compression,
        red_flags_open=episode.red_flags_open,
    )


def allowed_now(episode: Episode) -> list[str]:
    """Events and facts the episode accepts now."""
    return allowed_events(care_track(episode))


def get_episode(session: Session, episode_id: int, *, with_patient: bool = True) -> Episode:
    """One episode or NotFound (its patient loaded with it unless `with_patient` is false:
    then on first use)."""
    if not 0 < episode_id < 2**63:
        raise NotFound("episode", episode_id)
    # Already loaded in this session: no SQL (as Session.get). Otherwise its row (and its
    # patient's) read on the driver's cursor (`pathway.direct`).
    found = session.identity_map.get(identity_key(Episode, episode_id))
    if found is None and with_patient:  # one statement for both, as the ORM's joined load
        pairs = direct.load_pairs(session, Episode, Patient, _ROW_WITH_PATIENT,
                                  {"id": episode_id})
        if pairs:
            found, patient = pairs[0]
            if "patient" not in found.__dict__:
                set_committed_value(found, "patient", patient)
    elif found is None:
        found = next(iter(direct.load(session, Episode, _ROW_BY_ID, {"id": episode_id})), None)
    if found is None:
        raise NotFound("episode", episode_id)
    assert isinstance(found, Episode)
    return found


def _check_date(field: str, value: dt.date, *, today: dt.date, not_before: dt.date) -> None:
    if value < not_before:
        raise InvalidData(field, f"must not be before {not_before.isoformat()}")
    if value > today + dt.timedelta(days=1):
        raise InvalidData(field, "must not be more than one day in the future")


def _check_intake_dates(intake: IntakeAssessment, today: dt.date) -> None:
    _check_date("identified_on", intake.identified_on, today=today, not_before=EARLIEST_DATE)
    if intake.injury_on is not None:
        _check_date("injury_on", intake.injury_on, today=today, not_before=EARLIEST_DATE)
        if intake.injury_on > intake.identified_on:
            raise InvalidData("injury_on", "must not be after identified_on")
    if intake.initial_imaging is not None:
        _check_date("initial_imaging.performed_on", intake.initial_imaging.performed_on,
                    today=today, not_before=EARLIEST_DATE)
    if intake.patient.birth_date is not None:
        _check_date("patient.birth_date", intake.patient.birth_date, today=today,
                    not_before=EARLIEST_DATE)


def _find_or_add_patient(session: Session, intake: IntakeAssessment, now: dt.datetime) -> Patient:
    patient = next(iter(direct.load(session, Patient, _PATIENT_BY_MRN,
                                    {"mrn": intake.patient.mrn})), None)
    if patient is None:
        patient = rows.insert_one(session, rows.build(
            Patient,
            mrn=intake.patient.mrn, name=intake.patient.name,
            birth_date=intake.patient.birth_date, created_at=now))
    return patient


def open_episode(
    session: Session, *, intake: IntakeAssessment | dict[str, Any], actor: str,
    now: dt.datetime, zone: ZoneInfo,
) -> Episode:
    """Open an episode from an intake assessment; raises at once whatever is already overdue."""
    if not isinstance(intake, IntakeAssessment):
        intake = validate_model(IntakeAssessment, intake, "intake")
    _check_intake_dates(intake, local_day(now, zone))
    version = current_version(session)
    definition = load_definition(session, version)
    patient = _find_or_add_patient(session, intake, now)
    episode = rows.build(
        Episode,
        patient_id=patient.id, state=CareState.ASSESSED.value, pathway_version=version,
        version=1, identified_on=intake.identified_on, coordinator=intake.coordinator,
        levels=list(intake.levels), intake=intake.model_dump(mode="json", exclude={"patient"}),
        neuro_intact=intake.neuro_intact, instability=intake.instability,
        cord_compression=intake.cord_compression, red_flags_open=bool(intake.red_flags),
        opened_at=now, updated_at=now, closed_at=None,
    )
    milestones = [new_milestone(episode=episode, definition=definition, kind=kind,
                                anchor_on=intake.identified_on, zone=zone, now=now,
                                first_of_kind=True)
                  for kind in AT_INTAKE]
    for key, value in summary(milestones).items():
        setattr(episode, key, value)
    rows.insert_one(session, episode)
    set_committed_value(episode, "patient", patient)
    # The opening's data is the intake, kept once on the episode row (it never changes).
    record = rows.insert_one(session, rows.build(
        EventRecord, episode_id=episode.id, seq=1, name=OPENED_EVENT,
        occurred_on=intake.identified_on, recorded_at=now, actor=actor, source_state=None,
        target_state=episode.state, data={},
    ))
    if intake.initial_imaging is not None:
        img = intake.initial_imaging
        rows.insert_one(session, rows.build(
            ImagingRecord,
            episode_id=episode.id, modality=img.modality.value, performed_on=img.performed_on,
            finding=img.finding.value if img.finding else None, event_id=record.id))
    for milestone in milestones:
        milestone.episode_id = episode.id
    rows.insert_all(session, milestones)
    enqueue_event(session, event=record, now=now)  # webhooks subscribed to openings
    if alert_due(milestones, now):  # opened late: raise at once whatever is already due
        raise_due_reminders(session, now=now, episode_id=episode.id)
    return episode


@dataclass(frozen=True)
class AppliedEvent:
    """The outcome of an event: the episode after it and the log row that records it."""

    episode: Episode
    record: EventRecord
    source: str
    target: str


def apply_event(
    session: Session, *, episode_id: int, event: str, data: Any, actor: str,
    now: dt.datetime, zone: ZoneInfo, occurred_on: dt.date | None = None,
    expected_version: int | None = None,
) -> AppliedEvent:
    """Apply a transition event or a fact to an episode, or raise a domain error."""
    episode = get_episode(session, episode_id, with_patient=False)
    if expected_version is not None and expected_version != episode.version:
        raise PreconditionFailed(expected_version, episode.version)
    payload = validate_event_data(event, data)
    today = local_day(now, zone)
    when = occurred_on or today
    _check_date("occurred_on", when, today=today, not_before=episode.identified_on)
    for name, value in payload:  # a therapy start, a biopsy: no year 1 or 9999
        if isinstance(value, dt.date):
            _check_date(f"data.{name}", value, today=today, not_before=EARLIEST_DATE)
    source = episode.state
    track = care_track(episode)
    if event in _TRANSITIONS:
        target = fire(track, event, payload.model_dump(mode="json"))
    else:
        target = source
        if source == CareState.CLOSED:
            fire(track, event, {})  # always refused: names the state and what is allowed
    definition = load_definition(session, episode.pathway_version)
    _claim_next_version(session, episode, target, now)
    record = rows.insert_one(session, rows.build(
        EventRecord, episode_id=episode.id, seq=episode.version, name=event, occurred_on=when,
        recorded_at=now, actor=actor, source_state=source, target_state=target,
        data=payload.model_dump(mode="json", exclude_none=True),
    ))
    enqueue_event(session, event=record, now=now)  # webhooks subscribed to this event
    ctx = EffectContext(session=session, episode=episode, definition=definition, record=record,
                        data=payload, milestones=all_milestones(session, episode.id), zone=zone,
                        now=now, actor=actor)
    _run_effects(ctx, source, target)
    # The episode's milestones are all in hand: scan it only if one of them is due.
    if alert_due(ctx.milestones, now):
        raise_due_reminders(session, now=now, episode_id=episode.id)
    return AppliedEvent(episode=episode, record=record, source=source, target=target)


def _claim_next_version(session: Session, episode: Episode, target: str,
                        now: dt.datetime) -> None:
    # First of all writes: a concurrent writer of this episode waits here (its row lock) and
    # then finds the version moved on, before anything else is written.
    claimed: dict[str, Any] = {"state": target, "updated_at": now}
    if target == CareState.CLOSED:
        claimed["closed_at"] = now
    if not rows.claim_version(session, episode, episode.version + 1, claimed):
        raise Conflict("the episode was changed by someone else; reload and retry")


def _run_effects(ctx: EffectContext, source: str, target: str) -> None:
    """The event's effects, then the episode's columns they changed, in one UPDATE."""
    event = ctx.record.name
    if event in _FACTS:
        on_fact(ctx)
    else:
        on_track_facts(ctx)
        if source != target or _is_rearm(event, ctx.data.model_dump()):
            on_transition(ctx, source, target)
    open_now = [m for m in ctx.milestones if m.status == MilestoneStatus.OPEN]
    changes = {**ctx.episode_changes, **summary(open_now)}
    rows.update(ctx.session, ctx.episode,
                {k: v for k, v in changes.items() if getattr(ctx.episode, k) != v})


def _is_rearm(event: str, data: dict[str, Any]) -> bool:
    return event == TransitionEvent.REVIEW_AUGMENTATION and data.get("decision") == "continue"


def history(session: Session, episode_id: int) -> list[EventRecord]:
    """The episode's event log, oldest first."""
    get_episode(session, episode_id)
    query = select(EventRecord).where(EventRecord.episode_id == episode_id).order_by(
        EventRecord.seq)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Replay:
    """The states the machine passes through when the event log is replayed."""

    states: list[str]
    final_state: str
    matches_stored: bool


def replay(session: Session, episode_id: int) -> Replay:
    """Re-run the logged transitions through the machine and compare with the stored state."""
    episode = get_episode(session, episode_id)
    records = history(session, episode_id)
    intake = episode.intake
    track = CareTrack(
        state=CareState.ASSESSED.value, neuro_intact=intake.get("neuro_exam") == "intact",
        instability=bool(intake.get("instability")),
        cord_compression=bool(intake.get("cord_compression")),
        red_flags_open=bool(intake.get("red_flags")),
    )
    states = [track.state]
    for record in records[1:]:
        if record.name == Fact.RECORD_NEURO_CHANGE:
            track.neuro_intact = False
        if record.name in {e.value for e in TransitionEvent}:
            fire(track, record.name, record.data)
            track.red_flags_open = {
                TransitionEvent.SUSPECT_MALIGNANCY.value: True,
                TransitionEvent.EXCLUDE_MALIGNANCY.value: False,
            }.get(record.name, track.red_flags_open)
        states.append(track.state)
    return Replay(states=states, final_state=track.state,
                  matches_stored=track.state == episode.state)
