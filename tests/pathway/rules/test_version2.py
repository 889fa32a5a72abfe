"""Pathway version 2, the fracture liaison data set (PATHWAY.md, "Pathway version 2"), as the
rules decide it in memory: the six milestones open at day 0 with their windows, each fact
meets (or, with a listed reason, closes) its milestone, the treatment gap runs from the
recommendation, and the facts' data is validated field by field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pathway.definition import builtin_definition
from pathway.errors import InvalidData
from pathway.event_data import validate_event_data
from pathway.vocabulary import MilestoneKind, ReminderKind
from tests.builders import DAY0
from tests.pathway.rules.memory import MemoryEpisode

V1 = builtin_definition(1)
V2 = builtin_definition(2)
DAY = dt.timedelta(days=1)
FLS = {"fls_assessment": 90, "dxa": 90, "falls_assessment": 90,
       "therapy_recommendation": 90, "strength_balance": 112}


def on(day: int) -> str:
    return (DAY0 + day * DAY).isoformat()


def test_version_2_keeps_version_1_and_adds_the_data_set() -> None:
    assert set(V1.milestones) < set(V2.milestones)
    assert set(V2.milestones) - set(V1.milestones) == {*FLS, "treatment_gap"}
    assert set(V2.milestones) == set(MilestoneKind) and set(V2.reminders) == set(ReminderKind)
    for kind in V1.milestones:  # version 1's rules unchanged in version 2
        assert V2.milestones[kind] == V1.milestones[kind]
    assert V2.reminders["therapy_recommendation_overdue"].priority == "urgent"
    assert V2.reminders["treatment_gap"].priority == "urgent"
    assert V2.reminders["dxa_overdue"].priority == "routine"


def test_the_data_set_opens_at_day_0_with_its_windows_on_version_2_only() -> None:
    opened = MemoryEpisode.open(V2).open_kinds()
    for kind, overdue in FLS.items():
        assert opened[kind].due_on == DAY0 and opened[kind].overdue_on == DAY0 + overdue * DAY
    assert "treatment_gap" not in opened
    assert not set(FLS) & set(MemoryEpisode.open(V1).open_kinds())


def test_each_overdue_item_raises_its_reminder() -> None:
    episode = MemoryEpisode.open(V2, day=120)  # opened late: every window has passed
    raised = {kind for kind, _ in episode.raised}
    assert {"fls_assessment_overdue", "dxa_overdue", "falls_assessment_overdue",
            "therapy_recommendation_overdue", "strength_balance_overdue"} <= raised


@pytest.mark.parametrize(("event", "data", "kind", "status"), [
    ("record_fls_assessment", {"assessed_on": on(10), "fracture_risk": "high", "tool": "frax",
                               "frax_major_pct": 21.5, "frax_hip_pct": 6.0},
     "fls_assessment", "met"),
    ("record_dxa", {"performed_on": on(20), "t_score_lumbar": -2.7}, "dxa", "met"),
    ("record_dxa", {"not_done": "unable"}, "dxa", "declined"),
    ("record_falls_assessment", {"assessed_on": on(15), "falls_risk": "high",
                                 "referred_to_falls_service": True}, "falls_assessment", "met"),
    ("record_strength_balance", {"started_on": on(40), "setting": "community"},
     "strength_balance", "met"),
    ("record_strength_balance", {"not_started": "declined"}, "strength_balance", "declined"),
    ("recommend_therapy", {"recommended_on": on(12), "agent": "alendronate",
                           "to": "primary_care"}, "therapy_recommendation", "met"),
    ("recommend_therapy", {"not_recommended": "not_indicated"}, "therapy_recommendation",
     "declined"),
])
def test_each_fact_closes_its_item(event: str, data: dict[str, Any], kind: str,
                                   status: str) -> None:
    episode = MemoryEpisode.open(V2)
    episode.send(event, 50, **data)
    (milestone,) = episode.of_kind(kind)
    assert milestone.status == status
    day = next((v for k, v in data.items() if k.endswith("_on")), on(50))
    assert milestone.met_on == dt.date.fromisoformat(day)  # the fact's own day
    others = {k for k in FLS if k != kind}
    assert others <= set(episode.open_kinds())  # nothing else moved


def test_the_treatment_gap_runs_from_the_recommendation_until_therapy_starts() -> None:
    episode = MemoryEpisode.open(V2)
    episode.send("recommend_therapy", 20, recommended_on=on(14), agent="zoledronic_acid",
                 to="primary_care")
    gap = episode.open_kinds()["treatment_gap"]
    assert (gap.due_on, gap.overdue_on) == (DAY0 + 42 * DAY, DAY0 + 70 * DAY)
    episode.send("record_communication", 21, kind="primary_care_letter", sent_on=on(21))
    assert "treatment_gap" in episode.open_kinds()  # a letter is kept, it starts nothing
    episode.send("record_therapy", 30, agent="zoledronic_acid")
    assert episode.of_kind("treatment_gap")[0].status == "met"
    assert episode.of_kind("osteoporosis_therapy")[0].status == "met"


def test_no_gap_once_therapy_has_started_and_a_decline_closes_it() -> None:
    treated = MemoryEpisode.open(V2)
    treated.send("record_therapy", 5, agent="alendronate")
    assert treated.of_kind("therapy_recommendation")[0].status == "met"  # started: recommended
    treated.send("recommend_therapy", 9, recommended_on=on(9), agent="alendronate",
                 to="fls_clinic")
    assert treated.of_kind("treatment_gap") == []
    declined = MemoryEpisode.open(V2)
    declined.send("recommend_therapy", 9, recommended_on=on(9), agent="denosumab",
                  to="specialist")
    declined.send("decline_therapy", 12, reason="declined")
    assert declined.of_kind("treatment_gap")[0].status == "declined"


def test_the_gap_is_raised_as_urgent_when_overdue() -> None:
    episode = MemoryEpisode.open(V2)
    episode.send("recommend_therapy", 0, recommended_on=on(0), agent="alendronate",
                 to="primary_care")
    gap = episode.open_kinds()["treatment_gap"]
    assert gap.next_alert_kind == "treatment_gap"
    assert gap.overdue_on == DAY0 + 56 * DAY


@pytest.mark.parametrize(("event", "data", "field"), [
    ("record_fls_assessment", {"assessed_on": on(1), "fracture_risk": "extreme"},
     "data.fracture_risk"),
    ("record_fls_assessment", {"assessed_on": on(1), "fracture_risk": "low",
                               "frax_major_pct": 130}, "data.frax_major_pct"),
    ("record_fls_assessment", {"fracture_risk": "low"}, "data.assessed_on"),
    ("record_dxa", {"performed_on": on(1), "t_score_lumbar": -9}, "data.t_score_lumbar"),
    ("record_dxa", {}, "data.performed_on"),
    ("record_dxa", {"not_done": "declined", "t_score_total_hip": -1.0},
     "data.t_score_total_hip"),
    ("record_dxa", {"not_done": "declined", "performed_on": on(1)}, "data.performed_on"),
    ("record_falls_assessment", {"assessed_on": on(1), "falls_risk": "high",
                                 "referred_to_falls_service": "yes"},
     "data.referred_to_falls_service"),
    ("record_strength_balance", {"started_on": on(1)}, "data.setting"),
    ("record_strength_balance", {"not_started": "busy"}, "data.not_started"),
    ("recommend_therapy", {"recommended_on": on(1), "agent": "alendronate"}, "data.to"),
    ("recommend_therapy", {"recommended_on": on(1), "agent": "aspirin", "to": "fls_clinic"},
     "data.agent"),
    ("recommend_therapy", {"not_recommended": "declined", "to": "fls_clinic"}, "data.to"),
    ("record_communication", {"kind": "fax", "sent_on": on(1)}, "data.kind"),
    ("record_communication", {"kind": "patient_letter"}, "data.sent_on"),
])
def test_bad_data_names_the_field(event: str, data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidData) as refused:
        validate_event_data(event, data)
    assert refused.value.field == field, refused.value
