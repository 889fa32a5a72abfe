"""Every path of PATHWAY.md through HTTP, from intake to each final state.

Each path opens an episode with `POST /v1/episodes`, sends its events day by day with the
clock on that day, and checks the states passed through, the event log, what the episode
accepts at the end, and that the bone-health track goes on after the fracture-care track ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.support import ApiHarness

Step = tuple[int, str, dict[str, Any]]
FACTS = ["record_therapy", "decline_therapy", "record_neuro_change", "record_symptom_change",
         "record_contact"]


@dataclass(frozen=True)
class Path:
    steps: list[Step]
    states: list[str]  # the state after each step
    intake: dict[str, Any] = field(default_factory=dict)


CONSERVATIVE = (1, "start_conservative_care", {})
PERSISTENT = (30, "record_reassessment", {"pain_score": 6, "symptoms": "persistent"})
IMAGED = (58, "record_imaging", {"modality": "mri", "finding": "stable"})
RED_FLAGS = {"red_flags": ["malignancy_history"]}

PATHS: dict[str, Path] = {
    "augmentation after the 3-month review": Path(
        [CONSERVATIVE, PERSISTENT, IMAGED, (95, "review_augmentation", {"decision": "refer"})],
        ["conservative_care", "reassessed", "imaged", "augmentation_referral"]),
    "review continued, then referred": Path(
        [CONSERVATIVE, PERSISTENT, IMAGED,
         (92, "review_augmentation", {"decision": "continue"}),
         (121, "review_augmentation", {"decision": "refer"})],
        ["conservative_care", "reassessed", "imaged", "imaged", "augmentation_referral"]),
    "early augmentation from conservative care": Path(
        [CONSERVATIVE, (10, "refer_early_augmentation", {"reason": "severe_disabling_pain"})],
        ["conservative_care", "augmentation_referral"]),
    "early augmentation after reassessment": Path(
        [CONSERVATIVE, PERSISTENT,
         (40, "refer_early_augmentation", {"reason": "worsening_despite_medication"})],
        ["conservative_care", "reassessed", "augmentation_referral"]),
    "early augmentation after imaging": Path(
        [CONSERVATIVE, PERSISTENT, IMAGED,
         (70, "refer_early_augmentation", {"reason": "progressive_deformity"})],
        ["conservative_care", "reassessed", "imaged", "augmentation_referral"]),
    "resolved at reassessment": Path(
        [CONSERVATIVE, (35, "record_reassessment", {"pain_score": 1, "symptoms": "resolved"})],
        ["conservative_care", "resolved"]),
    "resolved while reassessed": Path(
        [CONSERVATIVE, PERSISTENT, (50, "resolve", {})],
        ["conservative_care", "reassessed", "resolved"]),
    "resolved at the augmentation review": Path(
        [CONSERVATIVE, PERSISTENT, IMAGED,
         (96, "review_augmentation", {"decision": "resolved"})],
        ["conservative_care", "reassessed", "imaged", "resolved"]),
    "surgery at intake for a neurological deficit": Path(
        [(0, "refer_surgery", {"reason": "neurological_deficit"})], ["surgical_referral"],
        {"neuro_exam": ["motor_weakness"]}),
    "surgery after failed conservative care": Path(
        [CONSERVATIVE, PERSISTENT, (45, "refer_surgery", {"reason": "failed_medical_management"})],
        ["conservative_care", "reassessed", "surgical_referral"]),
    "surgery from the work-up": Path(
        [(0, "suspect_malignancy", RED_FLAGS), (5, "refer_surgery", {"reason": "instability"})],
        ["pathologic_workup", "surgical_referral"], RED_FLAGS),
    "malignancy confirmed after red flags": Path(
        [(0, "suspect_malignancy", RED_FLAGS),
         (12, "confirm_malignancy", {"biopsy_on": "2026-03-12"})],
        ["pathologic_workup", "oncology_referral"], RED_FLAGS),
    "malignancy found on follow-up imaging": Path(
        [CONSERVATIVE, PERSISTENT,
         (60, "record_imaging", {"modality": "mri", "finding": "malignancy_suspected"}),
         (70, "confirm_malignancy", {})],
        ["conservative_care", "reassessed", "pathologic_workup", "oncology_referral"]),
    "malignancy suspected in conservative care, excluded, then resolved": Path(
        [CONSERVATIVE,
         (20, "suspect_malignancy", {"red_flags": ["unexplained_weight_loss"]}),
         (27, "exclude_malignancy", {}), (28, "start_conservative_care", {}),
         (60, "record_reassessment", {"pain_score": 0, "symptoms": "resolved"})],
        ["conservative_care", "pathologic_workup", "assessed", "conservative_care",
         "resolved"]),
    "closed from assessed": Path(
        [(2, "close", {"reason": "entered_in_error"})], ["closed"]),
    "closed from imaged": Path(
        [CONSERVATIVE, PERSISTENT, IMAGED, (80, "close", {"reason": "lost_to_follow_up"})],
        ["conservative_care", "reassessed", "imaged", "closed"]),
    "closed after resolution": Path(
        [CONSERVATIVE, (35, "record_reassessment", {"pain_score": 1, "symptoms": "resolved"}),
         (200, "close", {"reason": "deceased"})],
        ["conservative_care", "resolved", "closed"]),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_path_from_intake_to_final_state(api: ApiHarness, name: str) -> None:
    path = PATHS[name]
    episode = api.open(**path.intake)
    assert episode["state"] == "assessed" and episode["version"] == 1
    seen = []
    for day, event, data in path.steps:
        api.clock.to_day(day)
        response = api.send(episode["id"], event, day, **data)
        assert response.status_code == 201, (event, response.text)
        seen.append(response.json()["episode"]["state"])
    assert seen == path.states

    final = api.client.get(f"/v1/episodes/{episode['id']}", headers=api.auth("coordinator"))
    body = final.json()
    assert body["state"] == path.states[-1] and body["track_final"] is True
    assert final.headers["ETag"] == f'"{len(path.steps) + 1}"'
    log = api.client.get(f"/v1/episodes/{episode['id']}/events", headers=api.auth()).json()
    assert [e["name"] for e in log["items"]] == ["open_episode"] + [s[1] for s in path.steps]
    assert [e["seq"] for e in log["items"]] == list(range(1, len(path.steps) + 2))
    assert [e["target_state"] for e in log["items"][1:]] == path.states
    assert {e["actor"] for e in log["items"]} == {api.actor("integration")}
    if body["state"] == "closed":
        assert body["allowed_events"] == [] and body["milestones"] == []
        assert body["reminders"] == []
    else:
        # The fracture-care track has ended but the bone-health track goes on.
        assert set(FACTS) <= set(body["allowed_events"]) and "close" in body["allowed_events"]
        kinds = {m["kind"] for m in body["milestones"]}
        assert "liaison_monitoring" in kinds
        assert not kinds & {"plan_decision", "reassessment", "followup_imaging",
                            "augmentation_review"}


def test_bone_health_track_through_http(api: ApiHarness) -> None:
    """Therapy, calcium and vitamin D, contacts and a neurological change, as facts."""
    ep = api.open()
    api.walk(ep["id"], [
        (1, "start_conservative_care", {}),
        (3, "record_therapy", {"agent": "denosumab", "dose": "60 mg"}),
        (4, "record_therapy", {"agent": "calcium_vitamin_d"}),
        (90, "record_contact", {"kind": "liaison_monitoring"}),
    ])
    api.clock.to_day(95)
    neuro = api.send(ep["id"], "record_neuro_change", 95, findings=["motor_weakness"])
    assert neuro.status_code == 201
    body = neuro.json()["episode"]
    assert body["state"] == "conservative_care"
    assert [r["kind"] for r in body["reminders"] if r["priority"] == "stat"] == [
        "urgent_surgical_review"]
    # A new deficit rules out early augmentation: refer to surgery instead.
    assert "refer_early_augmentation" not in body["allowed_events"]
    assert "refer_surgery" in body["allowed_events"]
    refused = api.send(ep["id"], "refer_early_augmentation", 95, reason="severe_disabling_pain")
    assert refused.status_code == 409
    assert "refer_surgery" in refused.json()["allowed_events"]
    open_kinds = {m["kind"]: m for m in body["milestones"]}
    assert "osteoporosis_therapy" not in open_kinds and "calcium_vitamin_d" not in open_kinds
    assert open_kinds["denosumab_next_dose"]["due_on"] == "2026-09-03"  # day 3 + 182
    assert "adherence_review" in open_kinds
