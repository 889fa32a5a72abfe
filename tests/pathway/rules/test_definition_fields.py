"""Every field of a pathway definition is read: change it in a test version, the behaviour
follows (run through the rules in memory, `tests/pathway/rules/memory.py`).

`test_every_field_has_a_test` fails when a field is added to the definition without a test
here, so the definition cannot grow fields nothing reads.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pathway.definition import MilestoneRule, PathwayDefinition, ReminderRule, builtin_definition
from pathway.errors import TransitionRefused
from pathway.kpis import band
from pathway.rules.alerts import due_alerts
from pathway.rules.work import _alerting
from tests.builders import DAY0, at
from tests.pathway.rules.memory import MemoryEpisode, replace, variant

V1 = builtin_definition(1)
DAY = dt.timedelta(days=1)


def _conservative(definition: PathwayDefinition) -> MemoryEpisode:
    episode = MemoryEpisode.open(definition)
    episode.send("start_conservative_care", 1)
    return episode


def test_due_days() -> None:
    for definition, day in ((V1, 28), (variant(V1, "reassessment", due_days=21), 21)):
        assert _conservative(definition).open_kinds()["reassessment"].due_on == DAY0 + day * DAY


def test_overdue_days() -> None:
    episode = _conservative(variant(V1, "reassessment", overdue_days=49))
    assert episode.open_kinds()["reassessment"].overdue_on == DAY0 + 49 * DAY


def test_anchor() -> None:
    # Version 1 counts the calcitonin course from its start; counted from day 0 it ends earlier.
    for definition, end in ((V1, 10 + 28), (variant(V1, "calcitonin_course_end", anchor="day0"),
                                            28)):
        episode = MemoryEpisode.open(definition)
        episode.send("record_therapy", 10, agent="calcitonin")
        assert episode.open_kinds()["calcitonin_course_end"].due_on == DAY0 + end * DAY


def test_anchor_event_counts_the_plan_decision_from_the_exclusion() -> None:
    episode = MemoryEpisode.open(V1, red_flags=["imaging_suspicious"])
    episode.send("suspect_malignancy", 2, red_flags=["imaging_suspicious"])
    episode.send("exclude_malignancy", 20)
    assert episode.open_kinds()["plan_decision"].overdue_on == DAY0 + 23 * DAY
    day0 = MemoryEpisode.open(variant(V1, "plan_decision", anchor="day0"))
    day0.send("suspect_malignancy", 2, red_flags=["imaging_suspicious"])
    day0.send("exclude_malignancy", 20)
    assert day0.open_kinds()["plan_decision"].overdue_on == DAY0 + 3 * DAY


def test_overdue_reminder_and_heads_up_reminder() -> None:
    for definition, first in ((V1, "reassessment_due"), (variant(
            V1, "reassessment", heads_up_reminder=None), "reassessment_overdue")):
        assert _conservative(definition).open_kinds()["reassessment"].next_alert_kind == first
    episode = MemoryEpisode.open(variant(V1, "plan_decision",
                                         overdue_reminder="imaging_overdue"), day=10)
    assert episode.raised == [("imaging_overdue", DAY0 + 3 * DAY)]


def test_watches() -> None:
    assert "reassessment" in _conservative(V1).open_kinds()
    unwatched = variant(V1, "reassessment", watches=None, opened_by=["record_contact"])
    assert "reassessment" not in _conservative(unwatched).open_kinds()


def test_met_by() -> None:
    episode = _conservative(V1)
    episode.send("record_reassessment", 30, pain_score=3, symptoms="persistent")
    assert episode.of_kind("reassessment")[0].status == "met"
    voided = _conservative(variant(V1, "reassessment", met_by=[]))
    voided.send("record_reassessment", 30, pain_score=3, symptoms="persistent")
    assert voided.of_kind("reassessment")[0].status == "void"


def _imaged(definition: PathwayDefinition) -> MemoryEpisode:
    episode = _conservative(definition)
    episode.send("record_reassessment", 30, pain_score=3, symptoms="persistent")
    episode.send("record_imaging", 58, modality="mri", finding="stable")
    return episode


def test_rearm_days() -> None:
    """PATHWAY.md: `continue` re-arms the review 28 days after the decision, overdue 14 later."""
    episode = _imaged(V1)
    episode.send("review_augmentation", 95, decision="continue")
    first, second = episode.of_kind("augmentation_review")
    assert first.status == "met" and second.status == "open"
    assert (second.due_on, second.overdue_on) == (DAY0 + 123 * DAY, DAY0 + 137 * DAY)
    other = _imaged(variant(V1, "augmentation_review", rearm_days=10))
    other.send("review_augmentation", 95, decision="continue")
    assert other.open_kinds()["augmentation_review"].due_on == DAY0 + 105 * DAY


def test_opened_by() -> None:
    assert "liaison_monitoring" in MemoryEpisode.open(V1).open_kinds()
    later = variant(V1, "liaison_monitoring", opened_by=["record_therapy:calcium_vitamin_d"])
    episode = MemoryEpisode.open(later)
    assert "liaison_monitoring" not in episode.open_kinds()
    episode.send("record_therapy", 5, agent="calcium_vitamin_d")
    assert "liaison_monitoring" in episode.open_kinds()


def test_reopen() -> None:
    def calcitonin_twice(definition: PathwayDefinition) -> int:
        episode = MemoryEpisode.open(definition)
        episode.send("record_therapy", 5, agent="calcitonin")
        episode.send("record_therapy", 6, agent="calcitonin")
        return len(episode.of_kind("calcitonin_course_end"))
    assert calcitonin_twice(V1) == 1  # when_none_open: the course is still running
    assert calcitonin_twice(variant(V1, "calcitonin_course_end", reopen="always")) == 2


def test_voided_by() -> None:
    episode = MemoryEpisode.open(V1)
    episode.send("record_therapy", 5, agent="denosumab")
    episode.send("record_therapy", 50, agent="alendronate")
    assert [m.status for m in episode.of_kind("denosumab_next_dose")] == ["void"]
    kept = MemoryEpisode.open(variant(V1, "denosumab_next_dose", voided_by=[]))
    kept.send("record_therapy", 5, agent="denosumab")
    kept.send("record_therapy", 50, agent="alendronate")
    assert [m.status for m in kept.of_kind("denosumab_next_dose")] == ["open"]


def test_declined_by() -> None:
    episode = MemoryEpisode.open(V1)
    episode.send("decline_therapy", 3, reason="contraindicated")
    assert episode.of_kind("osteoporosis_therapy")[0].status == "contraindicated"
    ignored = MemoryEpisode.open(variant(V1, "osteoporosis_therapy", declined_by=[]))
    ignored.send("decline_therapy", 3, reason="contraindicated")
    assert ignored.of_kind("osteoporosis_therapy")[0].status == "open"


def test_unless_met() -> None:
    """Version 2: no treatment gap once the therapy milestone is met; without the rule a
    recommendation after the start opens one."""
    v2 = builtin_definition(2)

    def gaps(definition: PathwayDefinition) -> int:
        episode = MemoryEpisode.open(definition)
        episode.send("record_therapy", 5, agent="alendronate")
        episode.send("recommend_therapy", 9, recommended_on="2026-03-11",
                     agent="alendronate", to="primary_care")
        return len(episode.of_kind("treatment_gap"))
    assert gaps(v2) == 0
    assert gaps(variant(v2, "treatment_gap", unless_met=[])) == 1


def test_ends_when_raised() -> None:
    for definition, status in ((V1, "met"), (variant(V1, "calcitonin_course_end",
                                                     ends_when_raised=False), "open")):
        episode = MemoryEpisode.open(definition)
        episode.send("record_therapy", 1, agent="calcitonin")
        episode.send("record_contact", 40, kind="liaison_monitoring")  # the episode moves late
        assert ("calcitonin_course_end", DAY0 + 29 * DAY) in episode.raised
        assert episode.of_kind("calcitonin_course_end")[0].status == status


def _raised_rule(definition: PathwayDefinition) -> object:
    episode = MemoryEpisode.open(definition, day=20)
    assert episode.last is not None
    return next(r for r in episode.last.raised if r.kind == "plan_overdue")


def test_reminder_priority_escalates_seeds_and_rule() -> None:
    first = _raised_rule(V1)
    assert (first.priority, first.escalate_at) == ("routine", at(20) + 7 * DAY)  # type: ignore[attr-defined]
    changed = _raised_rule(variant(V1, reminder="plan_overdue", priority="stat",
                                   escalates=False, seeds=["999"], rule="another rule"))
    assert (changed.priority, changed.escalate_at, changed.seeds, changed.rule) == (  # type: ignore[attr-defined]
        "stat", None, ["999"], "another rule")


def test_escalation_days() -> None:
    changed = _raised_rule(variant(V1, escalation_days=2))
    assert changed.escalate_at == at(20) + 2 * DAY  # type: ignore[attr-defined]


def test_raised_by_and_not_in_states() -> None:
    episode = _conservative(V1)
    episode.send("record_neuro_change", 5, findings=["motor_weakness"])
    assert ("urgent_surgical_review", DAY0 + 5 * DAY) in episode.raised
    quiet = _conservative(variant(V1, reminder="urgent_surgical_review", raised_by=[]))
    quiet.send("record_neuro_change", 5, findings=["motor_weakness"])
    assert not [k for k, _ in quiet.raised if k == "urgent_surgical_review"]
    excluded = _conservative(variant(V1, reminder="urgent_surgical_review",
                                     not_in_states=["conservative_care"]))
    excluded.send("record_neuro_change", 5, findings=["motor_weakness"])
    assert not [k for k, _ in excluded.raised if k == "urgent_surgical_review"]


def test_needs_stale_imaging_and_repeat_mri_after_days() -> None:
    def repeat_mri(definition: PathwayDefinition) -> bool:
        episode = MemoryEpisode.open(definition, initial_imaging={
            "modality": "mri", "performed_on": DAY0.isoformat()})
        # As the store loads it: the latest imaging day with the snapshot.
        episode.snapshot = replace(episode.snapshot, latest_imaging_on=DAY0)
        episode.send("record_symptom_change", 40, text="worse")
        return any(k == "repeat_mri_needed" for k, _ in episode.raised)
    assert not repeat_mri(V1)  # imaging 40 days old: not stale at 90
    assert repeat_mri(variant(V1, repeat_mri_after_days=30))
    assert repeat_mri(variant(V1, reminder="repeat_mri_needed", needs_stale_imaging=False))


def test_resolved_by() -> None:
    episode = _conservative(V1)
    episode.send("refer_surgery", 6, reason="instability")
    assert (("urgent_surgical_review",), "enter:surgical_referral") in episode.resolved
    kept = _conservative(variant(V1, reminder="urgent_surgical_review", resolved_by=[]))
    kept.send("refer_surgery", 6, reason="instability")
    assert not [r for r in kept.resolved if r[0] == ("urgent_surgical_review",)]


def test_osteoporosis_agents() -> None:
    episode = MemoryEpisode.open(V1)
    episode.send("record_therapy", 3, agent="alendronate")
    assert episode.of_kind("osteoporosis_therapy")[0].status == "met"
    narrow = MemoryEpisode.open(variant(V1, osteoporosis_agents=["denosumab"]))
    narrow.send("record_therapy", 3, agent="alendronate")
    assert narrow.of_kind("osteoporosis_therapy")[0].status == "open"


def test_kpi_bands() -> None:
    assert band(0.7, V1) == "amber"
    assert band(0.7, variant(V1, kpi_bands={"green": 0.6, "amber": 0.3})) == "green"


def test_version_is_the_episodes() -> None:
    assert MemoryEpisode.open(variant(V1, version=5)).snapshot.pathway_version == 5


def test_due_alerts_follow_the_heads_up_then_the_overdue() -> None:
    milestone = _conservative(V1).open_kinds()["reassessment"]
    raised, moved = due_alerts(V1, _alerting(milestone), at(50), milestone.id)
    assert [r.kind for r in raised] == ["reassessment_due", "reassessment_overdue"]
    assert moved is not None and moved.next_alert_at is None


#: Fields shown to people, not read by the rules: each has a test that shows it on the
#: pathway page (tests/dashboard/test_pages.py::test_pathway_page_shows_the_definition).
SHOWN = {"title", "site_note", "milestones.seeds", "milestones.rule"}
TESTED = {
    "version", "milestones", "reminders", "osteoporosis_agents", "escalation_days",
    "repeat_mri_after_days", "kpi_bands",
    *(f"milestones.{f}" for f in ("due_days", "overdue_days", "anchor", "overdue_reminder",
                                   "heads_up_reminder", "watches", "rearm_days", "opened_by",
                                   "reopen", "met_by", "voided_by", "declined_by",
                                   "ends_when_raised", "unless_met")),
    *(f"reminders.{f}" for f in ("priority", "escalates", "raised_by", "not_in_states",
                                  "needs_stale_imaging", "resolved_by", "seeds", "rule")),
}


def test_every_field_has_a_test() -> None:
    fields = set(PathwayDefinition.model_fields)
    fields |= {f"milestones.{f}" for f in MilestoneRule.model_fields}
    fields |= {f"reminders.{f}" for f in ReminderRule.model_fields}
    assert fields == TESTED | SHOWN


def test_surgical_only_is_refused_by_the_rules_too() -> None:
    episode = MemoryEpisode.open(V1, neuro_exam=["motor_weakness"])
    with pytest.raises(TransitionRefused) as refused:
        episode.send("suspect_malignancy", 2, red_flags=["imaging_suspicious"])
    assert refused.value.allowed[:2] == ["refer_surgery", "close"]
