"""Domain objects to API models; reads only, never changes anything."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from api.schemas import (
    EpisodeOut,
    EpisodeSummary,
    EventOut,
    MilestoneOut,
    PatientOut,
    ReminderActionOut,
    ReminderDetail,
    ReminderOut,
)
from api.units import Unit
from pathway.clock import day_number, local_day
from pathway.episodes import allowed_now
from pathway.rules.after import LoggedEvent
from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot
from pathway.store.models import Episode, EventRecord, Reminder, ReminderAction
from pathway.vocabulary import TRACK_FINAL_STATES

DAY = dt.timedelta(days=1)


def opaque(cursor: str) -> str:
    """A page cursor as URL-safe text (the core's cursors contain `+` and `:`)."""
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")


def unwrap(text: str) -> str:
    """The core's cursor inside an opaque one; ValueError when it is not one."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor") from exc


def etag(episode: Episode | EpisodeSnapshot) -> str:
    """The episode's version as a strong entity tag."""
    return f'"{episode.version}"'


def summary(episode: Episode | EpisodeSnapshot, unit: Unit) -> EpisodeSummary:
    """The list view of an episode."""
    today = local_day(unit.now, unit.zone)
    return EpisodeSummary(
        id=episode.id, state=episode.state, track_final=episode.state in TRACK_FINAL_STATES,
        version=episode.version, pathway_version=episode.pathway_version,
        identified_on=episode.identified_on, day=day_number(episode.identified_on, today),
        coordinator=episode.coordinator, mrn=episode.patient.mrn,
        next_milestone=episode.next_milestone, next_overdue_at=episode.next_overdue_at,
        overdue=episode.next_overdue_at is not None and episode.next_overdue_at <= unit.now,
    )


def milestone_out(milestone: MilestoneSnapshot, now: dt.datetime) -> MilestoneOut:
    """A milestone with whether (and how long) it is overdue."""
    overdue = milestone.status == "open" and milestone.overdue_at <= now
    return MilestoneOut(
        id=milestone.id, kind=milestone.kind, status=milestone.status,
        anchor_on=milestone.anchor_on, due_on=milestone.due_on,
        overdue_on=milestone.overdue_on, overdue=overdue,
        days_overdue=(now - milestone.overdue_at) // DAY if overdue else 0,
        met_on=milestone.met_on,
    )


def episode_out(episode: EpisodeSnapshot, unit: Unit) -> EpisodeOut:
    """The full view of an episode: state, what it accepts now, open work; all from the
    snapshot (the one the use case loaded or left behind: nothing is read again)."""
    return EpisodeOut(
        **summary(episode, unit).model_dump(),
        patient=PatientOut.model_validate(episode.patient), levels=list(episode.levels),
        intake=episode.intake,
        allowed_events=allowed_now(episode),
        milestones=[milestone_out(m, unit.now) for m in episode.open_milestones()],
        reminders=[ReminderOut.model_validate(r) for r in episode.reminders or ()],
        opened_at=episode.opened_at, updated_at=episode.updated_at,
        closed_at=episode.closed_at,
    )


def event_out(record: EventRecord | LoggedEvent) -> EventOut:
    """One row of the event log."""
    return EventOut.model_validate(record)


def reminder_detail(reminder: Reminder, history: list[ReminderAction]) -> ReminderDetail:
    """A reminder with every step of its history."""
    return ReminderDetail(
        **ReminderOut.model_validate(reminder).model_dump(),
        history=[ReminderActionOut.model_validate(a) for a in history],
    )
