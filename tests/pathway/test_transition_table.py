"""Every (state, event) pair of PATHWAY.md, allowed and refused, against a table written here."""

from __future__ import annotations

import pytest

from pathway.errors import TransitionRefused
from pathway.rules.guards import Track as CareTrack
from pathway.rules.machine import allowed_events, fire
from pathway.vocabulary import CareState, TransitionEvent

NON_FINAL = ["assessed", "pathologic_workup", "conservative_care", "reassessed", "imaged"]
ALL_BUT_CLOSED = NON_FINAL + [
    "augmentation_referral", "surgical_referral", "oncology_referral", "resolved",
]

# (event, data) -> {source: target}; written from PATHWAY.md's events table, not from the code.
TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("start_conservative_care", ""): {"assessed": "conservative_care"},
    ("suspect_malignancy", ""): {
        s: "pathologic_workup" for s in ["assessed", "conservative_care", "reassessed", "imaged"]
    },
    ("exclude_malignancy", ""): {"pathologic_workup": "assessed"},
    ("confirm_malignancy", ""): {"pathologic_workup": "oncology_referral"},
    ("record_reassessment", "resolved"): {"conservative_care": "resolved"},
    ("record_reassessment", "improving"): {"conservative_care": "reassessed"},
    ("record_reassessment", "persistent"): {"conservative_care": "reassessed"},
    ("record_reassessment", "worse"): {"conservative_care": "reassessed"},
    ("record_imaging", "stable"): {"reassessed": "imaged"},
    ("record_imaging", "new_fracture"): {"reassessed": "imaged"},
    ("record_imaging", "progression"): {"reassessed": "imaged"},
    ("record_imaging", "malignancy_suspected"): {"reassessed": "pathologic_workup"},
    ("review_augmentation", "refer"): {"imaged": "augmentation_referral"},
    ("review_augmentation", "resolved"): {"imaged": "resolved"},
    ("review_augmentation", "continue"): {"imaged": "imaged"},
    ("refer_early_augmentation", ""): {
        s: "augmentation_referral" for s in ["conservative_care", "reassessed", "imaged"]
    },
    ("refer_surgery", ""): {s: "surgical_referral" for s in NON_FINAL},
    ("resolve", ""): {s: "resolved" for s in ["conservative_care", "reassessed", "imaged"]},
    ("close", ""): {s: "closed" for s in ALL_BUT_CLOSED},
}


def _data(event: str, variant: str) -> dict[str, object]:
    return {
        "record_reassessment": {"pain_score": 4, "symptoms": variant},
        "record_imaging": {"modality": "mri", "finding": variant},
        "review_augmentation": {"decision": variant},
        "refer_early_augmentation": {"reason": "severe_disabling_pain"},
        "refer_surgery": {"reason": "instability"},
        "close": {"reason": "withdrawn"},
        "suspect_malignancy": {"red_flags": ["malignancy_history"]},
    }.get(event, {})


def _track(state: str) -> CareTrack:
    return CareTrack(state=state, neuro_intact=True, instability=False, cord_compression=False,
                     red_flags_open=False)


def test_table_covers_every_event_and_state() -> None:
    assert {e for e, _ in TABLE} == {e.value for e in TransitionEvent}
    assert set(ALL_BUT_CLOSED) | {"closed"} == {s.value for s in CareState}


CASES = [
    (state, event, variant)
    for (event, variant) in TABLE
    for state in [s.value for s in CareState]
]


@pytest.mark.parametrize(("state", "event", "variant"), CASES)
def test_pair(state: str, event: str, variant: str) -> None:
    expected = TABLE[(event, variant)].get(state)
    track = _track(state)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            fire(track, event, _data(event, variant))
        assert refused.value.state == state
        assert event not in refused.value.allowed
    else:
        assert fire(track, event, _data(event, variant)) == expected


#: The facts, accepted in every state but closed (the data set's included, on every version:
#: on version 1 they are kept and change no milestone).
FACTS = {"record_therapy", "decline_therapy", "record_neuro_change", "record_symptom_change",
         "record_contact", "record_fls_assessment", "record_dxa", "record_falls_assessment",
         "record_strength_balance", "recommend_therapy", "record_communication"}


@pytest.mark.parametrize("state", [s.value for s in CareState])
def test_allowed_events_match_table(state: str) -> None:
    transitions = {e for (e, _), sources in TABLE.items() if state in sources}
    facts = set() if state == "closed" else FACTS
    assert set(allowed_events(_track(state))) == transitions | facts


@pytest.mark.parametrize(
    ("neuro", "instability", "cord", "red_flags", "reason"),
    [
        (False, False, False, False, "neurological deficit"),
        (True, True, False, False, "instability"),
        (True, False, True, False, "cord compression"),
        (True, False, False, True, "red flags"),
    ],
)
def test_conservative_care_guard(neuro, instability, cord, red_flags, reason) -> None:
    track = CareTrack("assessed", neuro, instability, cord, red_flags)
    with pytest.raises(TransitionRefused) as refused:
        fire(track, "start_conservative_care", {})
    assert reason in str(refused.value.reason)
    assert "start_conservative_care" not in refused.value.allowed
    assert "refer_surgery" in refused.value.allowed


@pytest.mark.parametrize("event", ["refer_surgery", "refer_early_augmentation"])
def test_referral_requires_reason_from_vocabulary(event: str) -> None:
    for data in ({}, {"reason": "because"}):
        track = _track("conservative_care")
        with pytest.raises(TransitionRefused):
            fire(track, event, data)




@pytest.mark.parametrize("state", NON_FINAL)
@pytest.mark.parametrize(("neuro", "instability", "cord"),
                         [(False, False, False), (True, True, False), (True, False, True)])
def test_surgical_only_offers_only_surgery_and_close(state: str, neuro: bool,
                                                      instability: bool, cord: bool) -> None:
    """PATHWAY.md: a deficit, instability or cord compression accepts only refer_surgery and
    close of the fracture-care events (facts are still recorded)."""
    track = CareTrack(state, neuro, instability, cord, False)
    assert set(allowed_events(track)) == {"refer_surgery", "close"} | FACTS
    for (event, variant), sources in TABLE.items():
        if event in {"refer_surgery", "close"} or state not in sources:
            continue
        with pytest.raises(TransitionRefused) as refused:
            fire(track, event, _data(event, variant))
        assert "only surgical referral" in str(refused.value.reason)
        assert refused.value.allowed[:2] == ["refer_surgery", "close"]
    assert fire(track, "refer_surgery", {"reason": "neurological_deficit"}) == (
        "surgical_referral")
    assert fire(track, "close", {"reason": "withdrawn"}) == "closed"


def test_a_guard_on_data_explains_itself() -> None:
    with pytest.raises(TransitionRefused) as refused:
        fire(_track("imaged"), "review_augmentation", {"decision": "maybe"})
    assert refused.value.reason == "the decision is not refer"
