"""The fracture-care state machine (python-statemachine, strict), run on a `Track`.

The machine decides; a refusal is explained from the guards that refused (`guards.py`).
Only `closed` is final for the machine: the track's other final states still accept `close`
(and facts, which are not transitions). An episode with a deficit, instability or cord
compression offers only `refer_surgery` and `close` (PATHWAY.md, intake assessment).

Running python-statemachine's processing loop costs about 0.3 ms here, more than the rest
of a transition's Python work. The machine has no actions, so its answer depends only on the
source state, the event and the outcomes of the guards on that event's transitions: `fire`
evaluates those guards (cheap, from the same table the machine calls) and keeps the machine's
answer per outcome. The key is derived from the machine's own transitions, so a new guard
needs no list kept by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from pathway.errors import TransitionRefused
from pathway.rules.guards import Track, on_episode, passes, refusal
from pathway.vocabulary import CareState, Fact, TransitionEvent

_CARE = "not_surgical_only"


class FractureCareMachine(StateMachine):
    """The fracture-care track of PATHWAY.md."""

    assessed = State(initial=True, value=CareState.ASSESSED.value)
    pathologic_workup = State(value=CareState.PATHOLOGIC_WORKUP.value)
    conservative_care = State(value=CareState.CONSERVATIVE_CARE.value)
    reassessed = State(value=CareState.REASSESSED.value)
    imaged = State(value=CareState.IMAGED.value)
    augmentation_referral = State(value=CareState.AUGMENTATION_REFERRAL.value)
    surgical_referral = State(value=CareState.SURGICAL_REFERRAL.value)
    oncology_referral = State(value=CareState.ONCOLOGY_REFERRAL.value)
    resolved = State(value=CareState.RESOLVED.value)
    closed = State(final=True, value=CareState.CLOSED.value)

    start_conservative_care = assessed.to(
        conservative_care, cond=[_CARE, "red_flags_excluded"])
    suspect_malignancy = (
        assessed.to(pathologic_workup, cond=_CARE)
        | conservative_care.to(pathologic_workup, cond=_CARE)
        | reassessed.to(pathologic_workup, cond=_CARE)
        | imaged.to(pathologic_workup, cond=_CARE)
    )
    exclude_malignancy = pathologic_workup.to(assessed, cond=_CARE)
    confirm_malignancy = pathologic_workup.to(oncology_referral, cond=_CARE)
    record_reassessment = conservative_care.to(
        resolved, cond=[_CARE, "symptoms_resolved"]) | conservative_care.to(
        reassessed, cond=_CARE, unless="symptoms_resolved")
    record_imaging = reassessed.to(
        pathologic_workup, cond=[_CARE, "malignancy_suspected"]) | reassessed.to(
        imaged, cond=_CARE, unless="malignancy_suspected")
    review_augmentation = (
        imaged.to(augmentation_referral, cond=[_CARE, "decided_refer"])
        | imaged.to(resolved, cond=[_CARE, "decided_resolved"])
        | imaged.to.itself(cond=[_CARE, "decided_continue"])  # type: ignore[no-untyped-call]
    )
    refer_early_augmentation = (
        conservative_care.to(augmentation_referral, cond=[_CARE, "early_augmentation_reason"])
        | reassessed.to(augmentation_referral, cond=[_CARE, "early_augmentation_reason"])
        | imaged.to(augmentation_referral, cond=[_CARE, "early_augmentation_reason"])
    )
    refer_surgery = (
        assessed.to(surgical_referral, cond="surgery_reason_given")
        | pathologic_workup.to(surgical_referral, cond="surgery_reason_given")
        | conservative_care.to(surgical_referral, cond="surgery_reason_given")
        | reassessed.to(surgical_referral, cond="surgery_reason_given")
        | imaged.to(surgical_referral, cond="surgery_reason_given")
    )
    resolve = (conservative_care.to(resolved, cond=_CARE) | reassessed.to(resolved, cond=_CARE)
               | imaged.to(resolved, cond=_CARE))
    close = (
        assessed.to(closed) | pathologic_workup.to(closed) | conservative_care.to(closed)
        | reassessed.to(closed) | imaged.to(closed) | augmentation_referral.to(closed)
        | surgical_referral.to(closed) | oncology_referral.to(closed) | resolved.to(closed)
    )

    # The machine's guards are the table's (`pathway.rules.guards`); `data` is the event's.
    def not_surgical_only(self, data: Mapping[str, Any]) -> bool:
        return passes("not_surgical_only", self.model.track, data)

    def red_flags_excluded(self, data: Mapping[str, Any]) -> bool:
        return passes("red_flags_excluded", self.model.track, data)

    def symptoms_resolved(self, data: Mapping[str, Any]) -> bool:
        return passes("symptoms_resolved", self.model.track, data)

    def malignancy_suspected(self, data: Mapping[str, Any]) -> bool:
        return passes("malignancy_suspected", self.model.track, data)

    def decided_refer(self, data: Mapping[str, Any]) -> bool:
        return passes("decided_refer", self.model.track, data)

    def decided_resolved(self, data: Mapping[str, Any]) -> bool:
        return passes("decided_resolved", self.model.track, data)

    def decided_continue(self, data: Mapping[str, Any]) -> bool:
        return passes("decided_continue", self.model.track, data)

    def early_augmentation_reason(self, data: Mapping[str, Any]) -> bool:
        return passes("early_augmentation_reason", self.model.track, data)

    def surgery_reason_given(self, data: Mapping[str, Any]) -> bool:
        return passes("surgery_reason_given", self.model.track, data)


@dataclass
class _Model:
    """The machine's model: where it keeps its state, and the track its guards read."""

    track: Track
    state: str = field(default="")


@dataclass(frozen=True, slots=True)
class _Transition:
    target: str
    guards: tuple[str, ...]  # names, `!name` for `unless`


@functools.cache
def _transitions(state: str, event: str) -> tuple[_Transition, ...]:
    """The machine's transitions for `event` out of `state`, with their guard names."""
    source = FractureCareMachine.states_map[state]
    return tuple(_Transition(str(t.target.value), tuple(str(c) for c in t.cond))
                 for t in source.transitions if event in t.events)


@functools.cache
def _guard_names(state: str, event: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(g.lstrip("!") for t in _transitions(state, event)
                               for g in t.guards))




def _ask_machine(track: Track, event: str, data: Mapping[str, Any]) -> str | None:
    """Run the machine once: its target for `event`, or None when it refuses."""
    model = _Model(track=track, state=track.state)
    machine = FractureCareMachine(model=model, start_value=track.state)
    try:
        machine.send(event, data=data)
    except TransitionNotAllowed:
        return None
    return model.state


_answers: dict[tuple[str, str, tuple[bool, ...]], str | None] = {}


def _explain(track: Track, event: str, data: Mapping[str, Any]) -> str:
    """The refusal of the first guard that failed on the event's first transition."""
    for transition in _transitions(track.state, event):
        for guard in transition.guards:
            if not passes(guard, track, data):
                return refusal(guard)
    return "the event's data does not satisfy its guard"


_TRANSITION_NAMES = frozenset(e.value for e in TransitionEvent)


def fire(track: Track, event: str, data: Mapping[str, Any]) -> str:
    """The target state of `event` from the track's state, or TransitionRefused naming the
    state, the events allowed and, when a guard refused, why."""
    if event not in _TRANSITION_NAMES or not _transitions(track.state, event):
        raise TransitionRefused(event, track.state, allowed_events(track))
    outcome = tuple(passes(g, track, data) for g in _guard_names(track.state, event))
    key = (track.state, event, outcome)
    if key not in _answers:
        _answers[key] = _ask_machine(track, event, data)
    target = _answers[key]
    if target is None:
        raise TransitionRefused(event, track.state, allowed_events(track),
                                _explain(track, event, data))
    return target


@functools.cache
def transitions_from(state: str) -> tuple[str, ...]:
    """Transition events that have a transition out of `state` (guards not considered)."""
    return tuple(e.value for e in TransitionEvent if _transitions(state, e.value))


_FACTS = tuple(f.value for f in Fact)


def _offered(track: Track, event: str) -> bool:
    """Some transition of `event` passes every guard that reads only the episode."""
    return any(all(passes(g, track, {}) for g in t.guards if on_episode(g))
               for t in _transitions(track.state, event))


def allowed_events(track: Track) -> list[str]:
    """Events (transitions and facts) the episode accepts now, episode guards applied."""
    events = [e for e in transitions_from(track.state) if _offered(track, e)]
    if track.state != CareState.CLOSED.value:
        events.extend(_FACTS)
    return events


def final_for_machine(state: str) -> bool:
    """Whether the machine accepts nothing more from `state` (only `closed`)."""
    return bool(FractureCareMachine.states_map[state].final)
