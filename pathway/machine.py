"""The fracture-care state machine (python-statemachine, strict) and its adapter to an episode.

The machine is built on demand around a loaded episode through `CareTrack`, a plain object
carrying the state and the facts the guards read; it never lives on the ORM class (SQLAlchemy
does not call `__init__` on load). The machine decides; the use cases remember.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, fields, replace
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from pathway.errors import TransitionRefused
from pathway.vocabulary import (
    AugmentationDecision,
    CareState,
    EarlyAugmentationReason,
    Fact,
    ImagingFinding,
    SurgeryReason,
    Symptoms,
    TransitionEvent,
)


@dataclass
class CareTrack:
    """What the guards need to know about an episode: its state and its intake facts."""

    state: str
    neuro_intact: bool
    instability: bool
    cord_compression: bool
    red_flags_open: bool

    @property
    def surgical_only(self) -> bool:
        """A deficit, instability or cord compression: only surgical referral (000, 002)."""
        return not self.neuro_intact or self.instability or self.cord_compression


_TRACK_FIELDS = tuple(f.name for f in fields(CareTrack))


class FractureCareMachine(StateMachine):
    """The fracture-care track of PATHWAY.md. Only `closed` is final for the machine: the
    track's other final states still accept `close` (and facts, handled outside the machine)."""

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

    start_conservative_care = assessed.to(conservative_care, cond="may_start_conservative_care")
    suspect_malignancy = (
        assessed.to(pathologic_workup)
        | conservative_care.to(pathologic_workup)
        | reassessed.to(pathologic_workup)
        | imaged.to(pathologic_workup)
    )
    exclude_malignancy = pathologic_workup.to(assessed)
    confirm_malignancy = pathologic_workup.to(oncology_referral)
    record_reassessment = conservative_care.to(resolved, cond="symptoms_resolved") | (
        conservative_care.to(reassessed, unless="symptoms_resolved")
    )
    record_imaging = reassessed.to(pathologic_workup, cond="malignancy_suspected") | (
        reassessed.to(imaged, unless="malignancy_suspected")
    )
    review_augmentation = (
        imaged.to(augmentation_referral, cond="decided_refer")
        | imaged.to(resolved, cond="decided_resolved")
        | imaged.to.itself(cond="decided_continue")  # type: ignore[no-untyped-call]
    )
    refer_early_augmentation = (
        conservative_care.to(augmentation_referral, cond="early_augmentation_allowed")
        | reassessed.to(augmentation_referral, cond="early_augmentation_allowed")
        | imaged.to(augmentation_referral, cond="early_augmentation_allowed")
    )
    refer_surgery = (
        assessed.to(surgical_referral, cond="surgery_reason_given")
        | pathologic_workup.to(surgical_referral, cond="surgery_reason_given")
        | conservative_care.to(surgical_referral, cond="surgery_reason_given")
        | reassessed.to(surgical_referral, cond="surgery_reason_given")
        | imaged.to(surgical_referral, cond="surgery_reason_given")
    )
    resolve = conservative_care.to(resolved) | reassessed.to(resolved) | imaged.to(resolved)
    close = (
        assessed.to(closed)
        | pathologic_workup.to(closed)
        | conservative_care.to(closed)
        | reassessed.to(closed)
        | imaged.to(closed)
        | augmentation_referral.to(closed)
        | surgical_referral.to(closed)
        | oncology_referral.to(closed)
        | resolved.to(closed)
    )

    # Guards. `data` is the event's validated data; the model is a CareTrack.
    def may_start_conservative_care(self) -> bool:
        track: CareTrack = self.model
        return not track.surgical_only and not track.red_flags_open

    def symptoms_resolved(self, data: dict[str, Any]) -> bool:
        return bool(data.get("symptoms") == Symptoms.RESOLVED.value)

    def malignancy_suspected(self, data: dict[str, Any]) -> bool:
        return bool(data.get("finding") == ImagingFinding.MALIGNANCY_SUSPECTED.value)

    def decided_refer(self, data: dict[str, Any]) -> bool:
        return bool(data.get("decision") == AugmentationDecision.REFER.value)

    def decided_resolved(self, data: dict[str, Any]) -> bool:
        return bool(data.get("decision") == AugmentationDecision.RESOLVED.value)

    def decided_continue(self, data: dict[str, Any]) -> bool:
        return bool(data.get("decision") == AugmentationDecision.CONTINUE.value)

    def early_augmentation_allowed(self, data: dict[str, Any]) -> bool:
        track: CareTrack = self.model
        reasons = {r.value for r in EarlyAugmentationReason}
        return data.get("reason") in reasons and not track.surgical_only

    def surgery_reason_given(self, data: dict[str, Any]) -> bool:
        return data.get("reason") in {r.value for r in SurgeryReason}


def build_machine(track: CareTrack) -> FractureCareMachine:
    """Wrap a care track in a machine positioned at its stored state."""
    return FractureCareMachine(model=track, start_value=track.state)


# Building a machine costs about half a millisecond (python-statemachine registers every
# callback per instance), more than the rest of a transition's Python work. The machine reads
# its state from its model on every event, so each thread keeps one machine around its own
# CareTrack and copies an episode's facts into it before firing.
_per_thread = threading.local()


def _machine_for(track: CareTrack) -> tuple[FractureCareMachine, CareTrack]:
    machine: FractureCareMachine | None = getattr(_per_thread, "machine", None)
    if machine is None or machine.is_terminated:  # a final state stops its engine for good
        machine = build_machine(replace(track))
        _per_thread.machine = machine
    model: CareTrack = machine.model
    for name in _TRACK_FIELDS:
        setattr(model, name, getattr(track, name))
    return machine, model


_START_CONSERVATIVE_CARE = TransitionEvent.START_CONSERVATIVE_CARE.value
_REFER_EARLY_AUGMENTATION = TransitionEvent.REFER_EARLY_AUGMENTATION.value


def _refusal_reason(track: CareTrack, event: str) -> str | None:
    if event == _START_CONSERVATIVE_CARE:
        if not track.neuro_intact:
            return "neurological deficit recorded: only surgical referral is allowed"
        if track.instability or track.cord_compression:
            return "instability or cord compression: only surgical referral is allowed"
        if track.red_flags_open:
            return "unresolved red flags: exclude malignancy first"
    if event == _REFER_EARLY_AUGMENTATION and track.surgical_only:
        return "neurological deficit, instability or cord compression: refer to surgery"
    return None


@functools.cache
def _transition_ids(state: str) -> frozenset[str]:
    source = FractureCareMachine.states_map[state]
    return frozenset(str(ev) for ev in source.transitions.unique_events)


@functools.cache
def _transitions_from(state: str) -> tuple[str, ...]:
    ids = _transition_ids(state)
    return tuple(e.value for e in TransitionEvent if e.value in ids)


def transitions_from(state: str) -> list[str]:
    """Transition events that have a transition out of `state` (guards not considered)."""
    return list(_transitions_from(state))


_FACTS = tuple(f.value for f in Fact)


def allowed_events(track: CareTrack) -> list[str]:
    """Events (transitions and facts) the episode accepts now, episode-level guards applied."""
    events = [e for e in _transitions_from(track.state) if _refusal_reason(track, e) is None]
    if track.state != CareState.CLOSED.value:
        events.extend(_FACTS)
    return events


#: Every key of an event's data that a guard of `FractureCareMachine` reads. The machine has
#: no actions, so its answer depends only on the state, the track's facts and these values:
#: `fire` remembers each answer (a few hundred at most) instead of running the machine's
#: processing loop again, which costs more than the rest of a transition's Python work.
#: A guard reading another key must add it here (tests/pathway/test_machine_memo.py checks
#: every guard against this list).
GUARD_DATA_KEYS = ("symptoms", "finding", "decision", "reason")
_answers: dict[tuple[Any, ...], str | None] = {}  # None: the machine refused


def _decide(track: CareTrack, event: str, data: dict[str, Any]) -> str | None:
    """The machine's target for `event`, or None when a guard refuses it."""
    machine, model = _machine_for(track)
    try:
        machine.send(event, data=data)
    except TransitionNotAllowed:
        return None
    return str(model.state)


def fire(track: CareTrack, event: str, data: dict[str, Any]) -> str:
    """Run `event` through the machine; return the target state or raise TransitionRefused."""
    reason = _refusal_reason(track, event)
    if event not in _transition_ids(track.state) or reason is not None:
        raise TransitionRefused(event, track.state, allowed_events(track), reason)
    key = (event, *(getattr(track, name) for name in _TRACK_FIELDS),
           *(data.get(name) for name in GUARD_DATA_KEYS))
    try:
        target = _answers[key]
    except KeyError:
        target = _answers[key] = _decide(track, event, data)
    except TypeError:  # an unhashable value: ask the machine, remember nothing
        target = _decide(track, event, data)
    if target is None:
        raise TransitionRefused(event, track.state, allowed_events(track),
                                "the event's data does not satisfy its guard")
    track.state = target
    return target
