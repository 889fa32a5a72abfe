"""Reminders raised at once by facts, and resolved by the event that answers them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway.models import Reminder
from tests.builders import open_at, send


def _status(session: Session, kind: str) -> str | None:
    session.flush()
    return session.scalar(select(Reminder.status).where(Reminder.kind == kind))


def test_urgent_surgical_review_resolved_by_surgical_referral(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    send(session, ep, "record_neuro_change", 10, findings=["motor_weakness"])
    assert _status(session, "urgent_surgical_review") == "open"
    send(session, ep, "refer_surgery", 11, reason="neurological_deficit")
    assert _status(session, "urgent_surgical_review") == "resolved"


def test_no_urgent_review_once_with_the_surgeons(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "refer_surgery", 1, reason="instability")
    send(session, ep, "record_neuro_change", 5, findings=["sensory_deficit"])
    assert _status(session, "urgent_surgical_review") is None


def test_repeat_mri_needed_when_imaging_is_old_and_resolved_by_new_imaging(
    session: Session,
) -> None:
    ep = open_at(session, initial_imaging={"modality": "xray", "performed_on": "2026-03-02"})
    send(session, ep, "start_conservative_care", 1)
    send(session, ep, "record_symptom_change", 80, text="worse at night")
    assert _status(session, "repeat_mri_needed") is None  # imaging 80 days old: fine
    send(session, ep, "record_reassessment", 91, pain_score=7, symptoms="worse")
    send(session, ep, "record_symptom_change", 92, text="new pain")
    assert _status(session, "repeat_mri_needed") == "open"
    send(session, ep, "record_imaging", 93, modality="mri", finding="stable")
    assert _status(session, "repeat_mri_needed") == "resolved"
