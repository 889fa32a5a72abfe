"""The FHIR export validates with `fhir.resources` for episodes in every state.

`fhir.resources` 8 ships R4B (and R5); R4B's Patient, Condition, CarePlan, Task and
MedicationStatement are structurally the R4 ones. It does not check codes against value sets,
so the test checks the statuses against the R4 value sets itself.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from tests.api.support import ApiHarness
from tests.api.test_paths import PATHS

TASK_STATUS = {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
               "in-progress", "on-hold", "failed", "completed", "entered-in-error"}
CAREPLAN_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error",
                   "unknown"}
MEDICATION_STATUS = {"active", "completed", "entered-in-error", "intended", "stopped",
                     "on-hold", "unknown", "not-taken"}
CLINICAL_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}

# One path ending in each state, plus the non-final states on the way.
STATES = {
    "assessed": [],
    "pathologic_workup": [(0, "suspect_malignancy", {"red_flags": ["imaging_suspicious"]})],
    "conservative_care": [(1, "start_conservative_care", {})],
    "reassessed": PATHS["resolved while reassessed"].steps[:2],
    "imaged": PATHS["closed from imaged"].steps[:3],
    "augmentation_referral": PATHS["augmentation after the 3-month review"].steps,
    "surgical_referral": PATHS["surgery after failed conservative care"].steps,
    "oncology_referral": PATHS["malignancy found on follow-up imaging"].steps,
    "resolved": PATHS["resolved at reassessment"].steps,
    "closed": PATHS["closed from imaged"].steps,
}
THERAPY = [(2, "record_therapy", {"agent": "calcitonin", "dose": "200 IU nasal"}),
           (3, "record_therapy", {"agent": "calcium_vitamin_d"}),
           (5, "decline_therapy", {"reason": "declined"})]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_validates_in_every_state(api: ApiHarness) -> None:
    for state in STATES:
        _check_bundle(api, state)


def _check_bundle(api: ApiHarness, state: str) -> None:
    api.clock.to_day(0)
    red = {"red_flags": ["imaging_suspicious"]} if state == "pathologic_workup" else {}
    ep = api.open(**red)
    steps = sorted(STATES[state] + THERAPY, key=lambda s: s[0])
    api.walk(ep["id"], [s for s in steps if s[1] != "close"])
    if state == "closed":
        api.walk(ep["id"], [(80, "close", {"reason": "lost_to_follow_up"})])
    api.clock.to_day(max([s[0] for s in steps] + [0]) + 1)
    response = api.client.get(f"/v1/episodes/{ep['id']}/fhir", headers=api.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    data = response.json()
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    urls = [e.fullUrl for e in bundle.entry]
    assert len(set(urls)) == len(urls)
    _check_references(data, set(urls))

    episode = api.client.get(f"/v1/episodes/{ep['id']}", headers=api.auth()).json()
    assert episode["state"] == state
    plan = _resources(data, "CarePlan")[0]
    assert plan["status"] in CAREPLAN_STATUS
    assert plan["status"] == ("completed" if state == "closed" else "active")
    assert plan["extension"][0]["valueCode"] == state
    condition = _resources(data, "Condition")[0]
    assert condition["clinicalStatus"]["coding"][0]["code"] in CLINICAL_STATUS
    patient = _resources(data, "Patient")[0]
    assert patient["identifier"][0]["value"].startswith("MRN")

    tasks = _resources(data, "Task")
    assert len(plan["activity"]) == len(tasks)
    assert all(t["status"] in TASK_STATUS for t in tasks)
    open_tasks = {t["code"]["coding"][0]["code"]: t for t in tasks if t["status"] == "requested"}
    assert set(open_tasks) == {m["kind"] for m in episode["milestones"]}
    for milestone in episode["milestones"]:
        task = open_tasks[milestone["kind"]]
        assert task["restriction"]["period"]["end"] == milestone["due_on"]
        assert task["extension"][0]["valueDate"] == milestone["overdue_on"]
        expected = "overdue" if milestone["overdue"] else None
        if expected:
            assert task["businessStatus"]["text"] == expected

    statements = _resources(data, "MedicationStatement")
    assert all(s["status"] in MEDICATION_STATUS for s in statements)
    by_text = {s["medicationCodeableConcept"]["text"]: s for s in statements}
    assert by_text["calcitonin"]["medicationCodeableConcept"]["coding"][0]["code"] == "H05BA01"
    assert by_text["calcitonin"]["dosage"][0]["text"] == "200 IU nasal"
    assert by_text["osteoporosis drug therapy"]["status"] == "not-taken"
    assert "calcium_vitamin_d" in by_text


def _check_references(data: dict[str, Any], urls: set[str]) -> None:
    """Every reference inside the bundle points at one of its entries."""
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "reference" in value and isinstance(value["reference"], str):
                assert value["reference"] in urls, value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def test_task_statuses_follow_the_milestones(api: ApiHarness) -> None:
    ep = api.open()
    api.walk(ep["id"], [(1, "start_conservative_care", {}),
                        (2, "record_therapy", {"agent": "alendronate"})])
    api.clock.to_day(50)  # reassessment and liaison due, calcium overdue
    data = api.client.get(f"/v1/episodes/{ep['id']}/fhir", headers=api.auth()).json()
    tasks = {t["code"]["coding"][0]["code"]: t for t in _resources(data, "Task")}
    assert tasks["plan_decision"]["status"] == "completed"
    assert tasks["osteoporosis_therapy"]["status"] == "completed"
    assert tasks["osteoporosis_therapy"]["executionPeriod"]["end"] == "2026-03-04"
    assert tasks["reassessment"]["businessStatus"]["text"] == "overdue"
    assert tasks["calcium_vitamin_d"]["businessStatus"]["text"] == "overdue"
    assert tasks["liaison_monitoring"]["businessStatus"]["text"] == "scheduled"
    assert tasks["reassessment"]["restriction"]["period"]["end"] == "2026-03-30"  # day 28
    api.send(ep["id"], "close", 50, reason="entered_in_error")
    data = api.client.get(f"/v1/episodes/{ep['id']}/fhir", headers=api.auth()).json()
    Bundle.model_validate(data)
    assert _resources(data, "CarePlan")[0]["status"] == "entered-in-error"
    condition = _resources(data, "Condition")[0]
    assert "clinicalStatus" not in condition
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert {t["status"] for t in _resources(data, "Task")} == {"completed", "cancelled"}
