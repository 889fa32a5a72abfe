"""The Mermaid diagram is generated from the machine: every transition appears, nothing else."""

from __future__ import annotations

import re

from pathway.diagram import mermaid, transitions
from pathway.rules.machine import transitions_from
from pathway.vocabulary import CareState, TransitionEvent


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
