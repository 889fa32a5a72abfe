"""`fire` remembers the machine's answers: they must be the answers a fresh machine gives, for
every state, event, set of facts and value a guard reads."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from pathway.errors import TransitionRefused
from pathway.machine import (
    GUARD_DATA_KEYS,
    CareTrack,
    FractureCareMachine,
    build_machine,
    fire,
    transitions_from,
)
from pathway.vocabulary import (
    AugmentationDecision,
    CareState,
    EarlyAugmentationReason,
    ImagingFinding,
    SurgeryReason,
    Symptoms,
    TransitionEvent,
)

#: Each guarded key's values, plus an unknown value and absence.
VALUES: dict[str, list[Any]] = {
    "symptoms": [s.value for s in Symptoms],
    "finding": [f.value for f in ImagingFinding],
    "decision": [d.value for d in AugmentationDecision],
    "reason": [r.value for r in (*EarlyAugmentationReason, *SurgeryReason)],
}


#: (neuro_intact, instability, cord_compression, red_flags_open): each fact alone, none, and
#: a deficit with red flags (the guards combine them only through `surgical_only`).
FACTS = [(True, False, False, False), (False, False, False, False), (True, True, False, False),
         (True, False, True, False), (True, False, False, True), (False, False, False, True)]


class Recording(dict[str, Any]):
    """Event data that notes every key a guard reads."""

    read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        Recording.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        Recording.read.add(key)
        return super().__getitem__(key)


def test_every_guard_reads_only_the_remembered_keys() -> None:
    guards = [name for name, member in vars(FractureCareMachine).items()
              if inspect.isfunction(member) and "data" in inspect.signature(member).parameters]
    assert len(guards) >= 6
    machine = build_machine(CareTrack(CareState.IMAGED.value, True, False, False, False))
    for name in guards:
        getattr(machine, name)(data=Recording({"symptoms": "x", "other": 1}))
    assert Recording.read and Recording.read <= set(GUARD_DATA_KEYS), Recording.read


_unused: dict[tuple[Any, ...], FractureCareMachine] = {}


def fresh_answer(track: CareTrack, event: str, data: dict[str, Any]) -> str | None:
    """A machine of its own answers (one that has never moved: a refusal leaves it unused)."""
    key = tuple(vars(track).values())
    machine = _unused.pop(key, None) or build_machine(CareTrack(**vars(track)))
    try:
        machine.send(event, data=data)
    except TransitionNotAllowed:
        _unused[key] = machine
        return None
    return str(machine.model.state)


@pytest.mark.parametrize("state", [s.value for s in CareState if s != CareState.CLOSED])
def test_remembered_answers_are_the_machines(state: str) -> None:
    checked = 0
    for facts in FACTS:
        for event in transitions_from(state):
            for key, values in VALUES.items():
                for value in [*values, "unknown", None]:
                    data = {} if value is None else {key: value, "note": "free text"}
                    track = CareTrack(state, *facts)
                    expected = fresh_answer(track, event, data)
                    for _attempt in range(2):  # the second answer comes from memory
                        try:
                            got: str | None = fire(CareTrack(**vars(track)), event, data)
                        except TransitionRefused:
                            got = None
                        # An episode-level refusal (a deficit, open red flags) comes before
                        # the machine; otherwise the answers must agree.
                        if got is not None or expected is None:
                            assert got == expected, (state, facts, event, data)
                            checked += 1
    assert checked > 100


def test_a_refused_event_stays_refused_when_remembered() -> None:
    track = CareTrack(CareState.REASSESSED.value, True, False, False, False)
    for _ in range(2):
        with pytest.raises(TransitionRefused, match="does not satisfy its guard"):
            fire(CareTrack(**vars(track)), TransitionEvent.REFER_SURGERY.value, {"reason": "no"})
