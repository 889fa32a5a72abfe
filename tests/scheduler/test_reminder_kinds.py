"""Every reminder kind of PATHWAY.md: raised on its day and not the day before, resolved when
its milestone is met, and not raised for an episode where it does not apply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway.scan import raise_all_due
from pathway.store.models import Episode, Milestone, Reminder
from tests.builders import DAY0, at, open_at, send

Step = Callable[[Session, Episode], object]


def dawn(day: int) -> dt.datetime:
    """00:00 of day `day` (UTC site)."""
    return at(day, 0)


def eve(day: int) -> dt.datetime:
    """The last second of the day before `day`."""
    return at(day, 0) - dt.timedelta(seconds=1)


def reminders_of(session: Session, episode: Episode, kind: str) -> list[Reminder]:
    query = select(Reminder).where(Reminder.episode_id == episode.id, Reminder.kind == kind)
    return list(session.scalars(query))


def steps(*moves: tuple[str, int, dict[str, object]]) -> Step:
    def run(session: Session, episode: Episode) -> None:
        for event, day, data in moves:
            send(session, episode, event, day, **data)
    return run


CC = ("start_conservative_care", 1, {})
PERSIST = ("record_reassessment", 30, {"pain_score": 6, "symptoms": "persistent"})
IMAGED = ("record_imaging", 57, {"modality": "mri", "finding": "stable"})


@dataclass(frozen=True)
class Case:
    kind: str
    day: int  # the day it falls due
    setup: Step  # bring a fresh episode to where the reminder applies
    exempt: Step  # bring a fresh episode to where it does not apply
    meet: Step | None  # meet the milestone after the reminder was raised
    due_on: dt.date | None = None  # default: DAY0 + day


CASES = [
    Case("plan_overdue", 3, steps(),
         steps(CC), steps(("start_conservative_care", 4, {}))),
    Case("reassessment_due", 28, steps(CC),
         steps(CC, ("resolve", 20, {})),
         steps(("record_reassessment", 29, {"pain_score": 3, "symptoms": "improving"}))),
    Case("reassessment_overdue", 42, steps(CC),
         steps(CC, ("refer_early_augmentation", 10, {"reason": "severe_disabling_pain"})),
         steps(("record_reassessment", 43, {"pain_score": 3, "symptoms": "improving"}))),
    Case("imaging_overdue", 63, steps(CC, PERSIST),
         steps(CC, ("record_reassessment", 30, {"pain_score": 0, "symptoms": "resolved"})),
         steps(("record_imaging", 64, {"modality": "ct", "finding": "stable"}))),
    Case("augmentation_review_overdue", 104, steps(CC, PERSIST, IMAGED),
         steps(CC, PERSIST, IMAGED,
               ("refer_early_augmentation", 60, {"reason": "hospital_admission"})),
         steps(("review_augmentation", 105, {"decision": "refer"}))),
    Case("osteoporosis_therapy_overdue", 14, steps(),
         steps(("decline_therapy", 5, {"reason": "contraindicated"})),
         steps(("record_therapy", 15, {"agent": "alendronate"}))),
    Case("calcium_vitamin_d_overdue", 14, steps(),
         steps(("close", 5, {"reason": "transferred"})),
         steps(("record_therapy", 15, {"agent": "calcium_vitamin_d"}))),
    Case("calcitonin_course_end", 33, steps(("record_therapy", 5, {"agent": "calcitonin"})),
         steps(("record_therapy", 5, {"agent": "alendronate"})), None),
    Case("denosumab_dose_overdue", 220, steps(("record_therapy", 10, {"agent": "denosumab"})),
         steps(("record_therapy", 10, {"agent": "denosumab"}),
               ("record_therapy", 100, {"agent": "alendronate"})),
         steps(("record_therapy", 221, {"agent": "denosumab"}))),
    Case("liaison_monitoring_overdue", 112, steps(CC, ("resolve", 30, {})),
         steps(("record_contact", 50, {"kind": "liaison_monitoring"})),
         steps(("record_contact", 113, {"kind": "liaison_monitoring"}))),
    Case("adherence_review_overdue", 392, steps(("record_therapy", 10, {"agent": "risedronate"})),
         steps(CC),
         steps(("record_contact", 393, {"kind": "adherence_review", "adherent": True}))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_raised_on_its_day_not_before_and_resolved_when_met(session: Session, case: Case) -> None:
    episode = open_at(session)
    case.setup(session, episode)
    raise_all_due(session, now=eve(case.day))
    assert reminders_of(session, episode, case.kind) == []

    raise_all_due(session, now=dawn(case.day))
    [reminder] = reminders_of(session, episode, case.kind)
    assert reminder.due_on == (case.due_on or DAY0 + dt.timedelta(days=case.day))
    assert reminder.status == "open" and reminder.raised_at == dawn(case.day)

    if case.meet is not None:
        case.meet(session, episode)
        session.commit()  # what the edge does; then read back what was stored
        session.refresh(reminder)
        assert (reminder.status, reminder.resolution) == ("resolved", "milestone_met")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_not_raised_where_it_does_not_apply(session: Session, case: Case) -> None:
    episode = open_at(session)
    case.exempt(session, episode)
    raise_all_due(session, now=dawn(case.day + 30))
    assert reminders_of(session, episode, case.kind) == []


def test_calcitonin_course_end_is_a_notice_that_closes_its_milestone(session: Session) -> None:
    episode = open_at(session)
    send(session, episode, "record_therapy", 5, agent="calcitonin")
    raise_all_due(session, now=dawn(33))
    milestone = session.scalar(select(Milestone).where(
        Milestone.episode_id == episode.id, Milestone.kind == "calcitonin_course_end"))
    assert milestone is not None
    assert (milestone.status, milestone.next_alert_at) == ("met", None)
    raise_all_due(session, now=dawn(80))
    assert len(reminders_of(session, episode, "calcitonin_course_end")) == 1


def test_denosumab_dose_rearms_the_next_one(session: Session) -> None:
    episode = open_at(session)
    send(session, episode, "record_therapy", 10, agent="denosumab")
    raise_all_due(session, now=dawn(220))
    send(session, episode, "record_therapy", 221, agent="denosumab")
    raise_all_due(session, now=eve(221 + 210))
    assert len(reminders_of(session, episode, "denosumab_dose_overdue")) == 1
    raise_all_due(session, now=dawn(221 + 210))
    due = sorted(r.due_on for r in reminders_of(session, episode, "denosumab_dose_overdue"))
    assert due == [DAY0 + dt.timedelta(days=220), DAY0 + dt.timedelta(days=431)]


def test_urgent_surgical_review_raised_at_once_and_not_in_surgical_referral(
    session: Session,
) -> None:
    episode = open_at(session)
    send(session, episode, "start_conservative_care", 1)
    send(session, episode, "record_neuro_change", 9, findings=["motor_weakness"])
    [reminder] = reminders_of(session, episode, "urgent_surgical_review")
    assert (reminder.due_on, reminder.priority) == (DAY0 + dt.timedelta(days=9), "stat")

    referred = open_at(session)
    send(session, referred, "refer_surgery", 1, reason="instability")
    send(session, referred, "record_neuro_change", 9, findings=["sensory_deficit"])
    assert reminders_of(session, referred, "urgent_surgical_review") == []

    send(session, episode, "close", 12, reason="transferred")
    session.commit()
    session.refresh(reminder)
    assert reminder.status == "resolved"


def test_repeat_mri_needed_only_when_the_latest_imaging_is_old(session: Session) -> None:
    episode = open_at(session)
    send(session, episode, "start_conservative_care", 1)
    send(session, episode, "record_reassessment", 30, pain_score=6, symptoms="persistent")
    send(session, episode, "record_imaging", 57, modality="mri", finding="stable")
    send(session, episode, "record_symptom_change", 140, text="more pain")
    assert reminders_of(session, episode, "repeat_mri_needed") == []  # imaging 83 days old
    send(session, episode, "record_symptom_change", 148, text="more pain again")
    [reminder] = reminders_of(session, episode, "repeat_mri_needed")
    assert reminder.due_on == DAY0 + dt.timedelta(days=148)


def test_a_late_opened_episode_raises_what_is_already_overdue(session: Session) -> None:
    episode = open_at(session, day=20)
    kinds = {r.kind for r in session.scalars(
        select(Reminder).where(Reminder.episode_id == episode.id))}
    assert kinds == {"plan_overdue", "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"}
