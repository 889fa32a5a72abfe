"""Milestone arithmetic: each window of PATHWAY.md, a late-opened episode, a site time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway.milestones import open_milestones
from pathway.store.models import Milestone, Reminder
from tests.builders import DAY0, open_at, send

UTC = dt.UTC


def _open(session: Session, episode_id: int) -> dict[str, Milestone]:
    return {m.kind: m for m in open_milestones(session, episode_id)}


#: Pathway version 2's data set (the current version): open from day 0, (due, overdue) days.
DATA_SET = {"fls_assessment": (0, 90), "dxa": (0, 90), "falls_assessment": (0, 90),
            "therapy_recommendation": (0, 90), "strength_balance": (0, 112)}


def _days(m: Milestone, anchor: dt.date = DAY0) -> tuple[int, int]:
    return (m.due_on - anchor).days, (m.overdue_on - anchor).days


def test_intake_milestones(session: Session) -> None:
    ep = open_at(session)
    rows = _open(session, ep.id)
    assert set(rows) == {"plan_decision", "osteoporosis_therapy", "calcium_vitamin_d",
                         "liaison_monitoring", *DATA_SET}
    assert _days(rows["plan_decision"]) == (0, 3)
    assert {kind: _days(rows[kind]) for kind in DATA_SET} == DATA_SET
    assert _days(rows["osteoporosis_therapy"]) == (0, 14)
    assert _days(rows["calcium_vitamin_d"]) == (0, 14)
    assert _days(rows["liaison_monitoring"]) == (84, 112)
    assert rows["plan_decision"].overdue_at == dt.datetime(2026, 3, 5, tzinfo=UTC)
    assert ep.next_milestone == "plan_decision"


def test_fracture_care_windows_follow_the_state(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    rows = _open(session, ep.id)
    assert "plan_decision" not in rows
    assert _days(rows["reassessment"]) == (28, 42)
    send(session, ep, "record_reassessment", 30, pain_score=5, symptoms="persistent")
    rows = _open(session, ep.id)
    assert "reassessment" not in rows and _days(rows["followup_imaging"]) == (56, 63)
    send(session, ep, "record_imaging", 58, modality="mri", finding="stable")
    rows = _open(session, ep.id)
    assert _days(rows["augmentation_review"]) == (90, 104)
    send(session, ep, "review_augmentation", 100, decision="continue")
    rows = _open(session, ep.id)
    # Re-armed 28 days from the decision, with the original 14-day grace.
    assert _days(rows["augmentation_review"]) == (128, 142)
    met = session.scalars(select(Milestone).where(Milestone.status == "met")).all()
    assert {m.kind for m in met} == {"plan_decision", "reassessment", "followup_imaging",
                                     "augmentation_review"}


def test_bone_health_windows(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "record_therapy", 5, agent="calcitonin")
    send(session, ep, "record_therapy", 6, agent="denosumab")
    rows = _open(session, ep.id)
    assert _days(rows["calcitonin_course_end"]) == (33, 33)
    assert _days(rows["denosumab_next_dose"]) == (188, 216)
    assert _days(rows["adherence_review"]) == (364, 392)
    assert "osteoporosis_therapy" not in rows
    send(session, ep, "record_therapy", 190, agent="denosumab")
    rows = _open(session, ep.id)
    assert _days(rows["denosumab_next_dose"]) == (372, 400)


def test_bone_health_outlives_resolution_until_closed(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    send(session, ep, "record_reassessment", 30, pain_score=0, symptoms="resolved")
    assert set(_open(session, ep.id)) == {"osteoporosis_therapy", "calcium_vitamin_d",
                                          "liaison_monitoring", *DATA_SET}
    send(session, ep, "close", 40, reason="lost_to_follow_up")
    assert _open(session, ep.id) == {}
    assert ep.next_overdue_at is None


def test_late_opened_episode_raises_what_is_overdue_at_once(session: Session) -> None:
    ep = open_at(session, day=20)
    kinds = set(session.scalars(select(Reminder.kind).where(Reminder.episode_id == ep.id)))
    assert kinds == {"plan_overdue", "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"}


@pytest.mark.parametrize("zone_name", ["Europe/London", "America/New_York", "Australia/Sydney"])
def test_site_time_zone_day_starts_at_local_midnight(session: Session, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    ep = open_at(session, zone=zone)
    plan = _open(session, ep.id)["plan_decision"]
    local = plan.overdue_at.astimezone(zone)
    assert (local.date(), local.time()) == (DAY0 + dt.timedelta(days=3), dt.time(0, 0))


def test_dst_change_keeps_local_midnight(session: Session) -> None:
    # Europe/London moves to summer time on 2026-03-29: day 28 (30 March) starts at 23:00 UTC.
    zone = ZoneInfo("Europe/London")
    ep = open_at(session, zone=zone)
    send(session, ep, "start_conservative_care", 1, zone=zone)
    reassessment = _open(session, ep.id)["reassessment"]
    assert reassessment.due_at == dt.datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert reassessment.overdue_at == dt.datetime(2026, 4, 12, 23, 0, tzinfo=UTC)


def test_reminders_resolve_when_met(session: Session) -> None:
    ep = open_at(session, day=20)
    send(session, ep, "record_therapy", 21, agent="alendronate")
    rows = {r.kind: r for r in session.scalars(select(Reminder))}
    assert rows["osteoporosis_therapy_overdue"].status == "resolved"
    assert rows["osteoporosis_therapy_overdue"].resolution == "milestone_met"
    assert rows["calcium_vitamin_d_overdue"].status == "open"
