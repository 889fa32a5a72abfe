"""Episode use cases: open from an intake assessment, apply an event or fact, read, replay.

Each loads a snapshot (`pathway.store`), lets the rules decide (`pathway.rules`), applies the
`Changes` and returns what the edge renders; each takes `now` and an actor, and never
commits: the edge owns the transaction. Concurrent updates of one episode are caught by the
version column (optimistic concurrency): the loser gets `Conflict` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pathway.clock import local_day
from pathway.errors import (
    DuplicateEpisode,
    IdentityMismatch,
    InvalidData,
    NotFound,
    PreconditionFailed,
)
from pathway.event_data import EARLIEST_DATE, validate_event_data, validate_model
from pathway.intake import IntakeAssessment
from pathway.outbox import enqueue_event, queue_raised
from pathway.rules.after import LoggedEvent, snapshot_after
from pathway.rules.decide import decide_event, track_of
from pathway.rules.guards import Track
from pathway.rules.machine import allowed_events, fire
from pathway.rules.opening import decide_opening
from pathway.rules.patients import duplicate_of, identity_differences
from pathway.rules.snapshot import EpisodeSnapshot, PatientSnapshot
from pathway.store import episodes as store
from pathway.store import openings, snapshots
from pathway.store.held import refresh_held
from pathway.store.models import Episode, EventRecord
from pathway.store.reads import episode_with_patient, event_log
from pathway.store.versions import load_definition
from pathway.vocabulary import CareState, Fact, TransitionEvent

MAX_ID = 2**63


def allowed_now(episode: Episode | EpisodeSnapshot) -> list[str]:
    """Events and facts the episode accepts now."""
    return allowed_events(Track(
        state=episode.state, neuro_intact=episode.neuro_intact,
        instability=episode.instability, cord_compression=episode.cord_compression,
        red_flags_open=episode.red_flags_open))


def get_episode(session: Session, episode_id: int) -> Episode:
    """One episode with its patient, as the ORM's object (for the read views), or NotFound."""
    if not 0 < episode_id < MAX_ID:
        raise NotFound("episode", episode_id)
    found = episode_with_patient(session, episode_id)
    if found is None:
        raise NotFound("episode", episode_id)
    return found


def load_snapshot(session: Session, episode_id: int) -> EpisodeSnapshot:
    """One episode as the rules see it, or NotFound."""
    if not 0 < episode_id < MAX_ID:
        raise NotFound("episode", episode_id)
    loaded = snapshots.load(session, episode_id)
    if loaded is None:
        raise NotFound("episode", episode_id)
    return loaded.snapshot


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


def _patient_for(session: Session, intake: IntakeAssessment,
                 known: PatientSnapshot | None, now: dt.datetime) -> PatientSnapshot:
    """The intake's patient: the stored one if its demographics match and this is not the
    same fracture again, else a new one."""
    sent = intake.patient
    if known is None:
        return openings.insert_patient(session, {"mrn": sent.mrn, "name": sent.name,
                                                 "birth_date": sent.birth_date,
                                                 "created_at": now})
    differences = identity_differences(known, name=sent.name, birth_date=sent.birth_date)
    if differences:
        raise IdentityMismatch(sent.mrn, differences)
    duplicate = duplicate_of(openings.open_on_day0(session, known.id, intake.identified_on),
                             intake.levels)
    if duplicate is not None:
        raise DuplicateEpisode(*duplicate)
    return known


def open_episode(
    session: Session, *, intake: IntakeAssessment | dict[str, Any], actor: str,
    now: dt.datetime, zone: ZoneInfo,
) -> EpisodeSnapshot:
    """Open an episode from an intake assessment; raises at once whatever is already overdue.
    An MRN already known must come with its stored demographics; the same fracture (same
    patient, day 0 and a level, still open) is refused as a duplicate."""
    if not isinstance(intake, IntakeAssessment):
        intake = validate_model(IntakeAssessment, intake, "intake")
    _check_intake_dates(intake, local_day(now, zone))
    found = openings.context(session, intake.patient.mrn)
    if found.version is None:
        raise NotFound("pathway version", "any (run `pathway migrate`)")
    definition = load_definition(session, found.version)
    patient = _patient_for(session, intake, found.patient, now)
    opening = decide_opening(intake, definition, now=now, zone=zone, actor=actor)
    episode_id = openings.insert_episode(session, {**opening.episode,
                                                   "patient_id": patient.id})
    written = store.apply(session, episode_id, 0, opening.changes)
    snapshot = EpisodeSnapshot(id=episode_id, patient_id=patient.id, patient=patient,
                               reminders=(), **opening.episode)
    after = snapshot_after(snapshot, opening.changes, written.milestone_ids, written.raised,
                           written.resolved_ids)
    _after_writing(session, found.any_subscription, opening.changes.log, episode_id,
                   written, now)
    return after


@dataclass(frozen=True)
class AppliedEvent:
    """The outcome of an event: the episode after it and the log row that records it."""

    episode: EpisodeSnapshot
    record: LoggedEvent
    source: str
    target: str


def apply_event(
    session: Session, *, episode_id: int, event: str, data: Any, actor: str,
    now: dt.datetime, zone: ZoneInfo, occurred_on: dt.date | None = None,
    expected_version: int | Collection[int] | None = None,
) -> AppliedEvent:
    """Apply a transition event or a fact to an episode, or raise a domain error.
    `expected_version` is the version (or versions, from If-Match) the caller last saw."""
    if not 0 < episode_id < MAX_ID:
        raise NotFound("episode", episode_id)
    loaded = snapshots.load(session, episode_id)
    if loaded is None:
        raise NotFound("episode", episode_id)
    snapshot = loaded.snapshot
    _check_expected(expected_version, snapshot.version)
    payload = validate_event_data(event, data)
    today = local_day(now, zone)
    when = occurred_on or today
    _check_date("occurred_on", when, today=today, not_before=snapshot.identified_on)
    for name, value in payload:  # a therapy start, a biopsy: no year 1 or 9999
        if isinstance(value, dt.date):
            _check_date(f"data.{name}", value, today=today, not_before=EARLIEST_DATE)
    definition = load_definition(session, snapshot.pathway_version)
    changes = decide_event(snapshot, definition, event=event, payload=payload,
                           occurred_on=when, now=now, zone=zone, actor=actor)
    written = store.apply(session, snapshot.id, snapshot.version, changes)
    record = _after_writing(session, loaded.any_subscription, changes.log, snapshot.id,
                            written, now)
    return AppliedEvent(episode=snapshot_after(snapshot, changes, written.milestone_ids,
                                               written.raised, written.resolved_ids),
                        record=record, source=snapshot.state, target=changes.target)


def _check_expected(expected: int | Collection[int] | None, actual: int) -> None:
    if expected is None:
        return
    wanted = {expected} if isinstance(expected, int) else set(expected)
    if actual not in wanted:
        raise PreconditionFailed(min(wanted) if wanted else 0, actual)


def _after_writing(session: Session, listening: bool, log: Any, episode_id: int,
                   written: store.Written, now: dt.datetime) -> LoggedEvent:
    """Queue the messages of what was written, and bring the session's ORM objects of the
    episode (if it holds any: the dashboard and tests may) up to date."""
    if session.identity_map:
        refresh_held(session, episode_id)
    record = LoggedEvent.of(log, written.event_id, episode_id)
    if listening:
        enqueue_event(session, event=record, now=now)
    if written.raised_ids:
        queue_raised(session, list(written.raised_ids), now)
    return record


def history(session: Session, episode_id: int) -> list[EventRecord]:
    """The episode's event log, oldest first."""
    get_episode(session, episode_id)
    return event_log(session, episode_id)


@dataclass(frozen=True)
class Replay:
    """The states the machine passes through when the event log is replayed."""

    states: list[str]
    final_state: str
    matches_stored: bool


_TRANSITIONS = frozenset(e.value for e in TransitionEvent)


def replay(session: Session, episode_id: int) -> Replay:
    """Re-run the logged transitions through the machine and compare with the stored state."""
    episode = get_episode(session, episode_id)
    records = history(session, episode_id)
    intake = episode.intake
    track = Track(
        state=CareState.ASSESSED.value, neuro_intact=intake.get("neuro_exam") == "intact",
        instability=bool(intake.get("instability")),
        cord_compression=bool(intake.get("cord_compression")),
        red_flags_open=bool(intake.get("red_flags")))
    states = [track.state]
    for record in records[1:]:
        if record.name == Fact.RECORD_NEURO_CHANGE:
            track = replace(track, neuro_intact=False)
        if record.name in _TRANSITIONS:
            track = replace(track, state=fire(track, record.name, record.data))
            track = replace(track, red_flags_open={
                TransitionEvent.SUSPECT_MALIGNANCY.value: True,
                TransitionEvent.EXCLUDE_MALIGNANCY.value: False,
            }.get(record.name, track.red_flags_open))
        states.append(track.state)
    return Replay(states=states, final_state=track.state,
                  matches_stored=track.state == episode.state)


__all__ = ["AppliedEvent", "allowed_now", "apply_event", "get_episode", "history",
           "load_snapshot", "open_episode", "replay", "track_of"]
