"""Reminders raised at once by facts, and resolved by the event that answers them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from pathway import episodes
from pathway.reminders import raise_due_reminders
from pathway.store.models import Milestone, Reminder, ReminderAction
from tests.builders import at, open_at, send
from tests.support.databases import TestDatabase


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


def test_resolving_writes_the_rows_directly_and_keeps_the_session_coherent(
    session: Session, db: TestDatabase,
) -> None:
    """An event that meets a milestone resolves its reminder with statements of its own (not
    the ORM's flush): the session has nothing left to write, its objects hold what the
    database holds, and the reminder's history says who resolved it and why."""
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    raise_due_reminders(session, now=at(28))
    reminder = session.scalars(select(Reminder).where(Reminder.kind == "reassessment_due")).one()
    assert reminder.status == "open"
    flushes: list[object] = []
    event.listen(session, "before_flush", lambda *args: flushes.append(args))
    send(session, ep, "record_reassessment", 30, pain_score=4, symptoms="improving")
    assert flushes == [] and not (session.dirty or session.new)  # the ORM wrote nothing
    assert (reminder.status, reminder.resolution, reminder.resolved_at) == (
        "resolved", "milestone_met", at(30))
    session.commit()
    with db.sessions() as fresh:
        stored = fresh.get(Reminder, reminder.id)
        assert stored is not None
        assert (stored.status, stored.resolution, stored.resolved_at, stored.escalate_at) == (
            "resolved", "milestone_met", at(30), None)
        history = fresh.scalars(select(ReminderAction).where(
            ReminderAction.reminder_id == reminder.id).order_by(ReminderAction.id)).all()
        assert [(h.action, h.actor, h.at, h.detail) for h in history][-1] == (
            "resolved", "test", at(30), {"resolution": "milestone_met"})


def test_a_reminder_raised_between_load_and_apply_is_resolved_with_its_milestone(
    session: Session, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The event was decided on a snapshot in which nothing had been raised for the
    reassessment; a scan raises its heads-up before the event is written (another process,
    in production). The milestone is closed all the same and the scan's reminder resolved.
    Nothing is lost."""
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    real_apply = episodes.store.apply

    def scan_first(*args: Any, **kwargs: Any) -> Any:
        assert raise_due_reminders(session, now=at(40)), "the scan raised nothing"
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(episodes.store, "apply", scan_first)
    send(session, ep, "record_reassessment", 30, pain_score=4, symptoms="improving")
    monkeypatch.undo()
    session.flush()
    raised = session.scalars(select(Reminder).where(Reminder.kind == "reassessment_due")).all()
    assert [(r.status, r.resolution) for r in raised] == [("resolved", "milestone_met")]
    milestone = session.scalars(select(Milestone).where(
        Milestone.episode_id == ep.id, Milestone.kind == "reassessment")).one()
    assert (milestone.status, milestone.next_alert_at) == ("met", None)
