"""The Mermaid diagrams are generated: the API's from the machine (every transition, nothing
else, in code names); the page's from the machine and a definition, in human names."""

from __future__ import annotations

import json
import re
from importlib import resources

from pathway.definition import PathwayDefinition
from pathway.diagram import (
    BONE_TITLE,
    CARE_TITLE,
    bone_health_steps,
    bone_health_track,
    box_states,
    care_arrows,
    care_track,
    machine_transitions,
    mermaid,
    transition_rows,
    transitions,
)
from pathway.labels import label
from pathway.rules.machine import transitions_from
from pathway.vocabulary import CareState, MilestoneKind, TransitionEvent


def test_every_transition_of_the_machine_is_drawn() -> None:
    arrows = set(re.findall(r"^\s+(\w+) --> (\w+) : (\w+)", mermaid(), re.MULTILINE))
    assert arrows == {(s, t, e) for s, t, e, _guard in transitions()}
    for state in CareState:
        drawn = {e for s, _t, e in arrows if s == state.value}
        assert drawn == set(transitions_from(state.value)), state
    assert {e for _s, _t, e in arrows} == {e.value for e in TransitionEvent}


def test_guards_initial_and_final_are_marked() -> None:
    text = mermaid()
    assert text.splitlines()[:2] == ["stateDiagram-v2", "    [*] --> assessed"]
    assert "    closed --> [*]" in text
    assert "record_reassessment (unless symptoms_resolved)" in text
    assert "start_conservative_care (if red_flags_excluded)" in text
    assert "class augmentation_referral,surgical_referral,oncology_referral,resolved,closed" in text


# --- The drawings for people (the /pathway page) ----------------------------------------------

def _definition(version: int) -> PathwayDefinition:
    text = resources.files("pathway.definitions").joinpath(f"v{version}.json").read_text()
    return PathwayDefinition.model_validate(json.loads(text))


def _labels(source: str) -> list[str]:
    """The text people read: every quoted markdown label, and the titles."""
    texts = re.findall(r'"`(.*?)`"', source, re.DOTALL)
    texts += re.findall(r"^title: (.*)$", source, re.MULTILINE)
    return [t.replace("\u2060", "").replace("\u00a0", " ") for t in texts]


def test_the_care_track_draws_every_transition_once() -> None:
    drawn: set[tuple[str, str, str]] = set()
    for arrow in care_arrows():
        for source in box_states(arrow.source):
            assert (source, arrow.target, arrow.event) not in drawn
            drawn.add((source, arrow.target, arrow.event))
    assert drawn == {(t.source, t.target, t.event) for t in machine_transitions()}
    assert drawn == {(s, t, e) for s, t, e, _guard in transitions()}
    # Closing and the surgical referral are one arrow each, from the boxes that name them.
    assert [a.source for a in care_arrows() if a.event == "close"] == ["any_state"]
    assert [a.source for a in care_arrows() if a.event == "refer_surgery"] == ["any_in_care"]


def test_the_care_track_is_drawn_in_human_names() -> None:
    text = care_track(_definition(2))
    arrows = re.findall(r"^\s+(\w+) -(?:->|\.->)\|", text, re.MULTILINE)
    assert len(arrows) == len([a for a in care_arrows() if a.source != a.target])
    words = _labels(text)
    assert CARE_TITLE in words
    assert not [w for w in words if "_" in w or "guard" in w.lower() or "cond" in w.lower()]
    joined = "\n".join(words)
    for state in CareState:
        assert label(state.value) in joined, state
    for phrase in ("Start conservative care\nif red flags excluded",
                   "Reassessment\nif symptoms not resolved",
                   "Follow-up imaging\nif malignancy suspected",
                   "Reassessment day 28–42", "Follow-up imaging day 56–63",
                   "Augmentation review day 90–104", "Plan decision within 3 days",
                   "If decided to continue: again 28 days later",
                   "Any time in conservative care, reassessed or imaged"):
        assert phrase in joined, phrase


def test_the_care_track_follows_the_definition() -> None:
    definition = _definition(2)
    rule = definition.milestones[MilestoneKind.REASSESSMENT]
    later = definition.model_copy(update={"milestones": {
        **definition.milestones,
        MilestoneKind.REASSESSMENT: rule.model_copy(update={"due_days": 30, "overdue_days": 45}),
    }})
    assert "Reassessment day 30–45" in "\n".join(_labels(care_track(later)))


def test_the_bone_health_track_lists_its_milestones_by_deadline() -> None:
    steps = bone_health_steps(_definition(2))
    kinds = [s.kind.value for s in steps]
    assert kinds == ["osteoporosis_therapy", "calcium_vitamin_d", "fls_assessment", "dxa",
                     "falls_assessment", "therapy_recommendation", "strength_balance",
                     "liaison_monitoring", "adherence_review",
                     "calcitonin_course_end", "treatment_gap", "denosumab_next_dose"]
    words = _labels(bone_health_track(_definition(2)))
    joined = "\n".join(words)
    assert BONE_TITLE in words
    assert not [w for w in words if "_" in w]
    for phrase in ("By day 14\nOsteoporosis drug therapy\nCalcium and vitamin D",
                   "By day 112\nStrength and balance training\nLiaison monitoring contact, "
                   "from day 84",
                   "One-year adherence review, from day 364, once osteoporosis therapy started",
                   "Therapy recommended", "Treatment gap\n28–56 days later",
                   "Denosumab dose given", "Next denosumab dose\n182–210 days later"):
        assert phrase.replace("×", "") in joined.replace("**", ""), phrase


def test_version_one_has_no_fracture_liaison_milestones() -> None:
    kinds = {s.kind for s in bone_health_steps(_definition(1))}
    assert MilestoneKind.OSTEOPOROSIS_THERAPY in kinds and MilestoneKind.DXA not in kinds
    assert "DXA" not in bone_health_track(_definition(1))


def test_the_table_rows_are_in_human_names() -> None:
    rows = transition_rows()
    assert len(rows) == len(transitions())
    for row in rows:
        assert "_" not in f"{row.source}{row.event}{row.target}{row.condition}", row
    assert ("Conservative care", "Reassessment", "Reassessed", "if symptoms not resolved") in [
        (r.source, r.event, r.target, r.condition) for r in rows]
