"""The guards of the fracture-care machine, each with the words that explain its refusal.

A guard reads the episode (`Track`) or the event's data. The machine calls them by name
(`pathway.rules.machine`), and a refusal is explained from the same table, so the reason a
caller reads is always the guard that refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pathway.vocabulary import (
    AugmentationDecision,
    EarlyAugmentationReason,
    ImagingFinding,
    SurgeryReason,
    Symptoms,
)


@dataclass(frozen=True, slots=True)
class Track:
    """What the guards know of an episode: its state and its intake facts."""

    state: str
    neuro_intact: bool
    instability: bool
    cord_compression: bool
    red_flags_open: bool

    @property
    def surgical_only(self) -> bool:
        """A deficit, instability or cord compression: only surgical referral (000, 002)."""
        return not self.neuro_intact or self.instability or self.cord_compression


@dataclass(frozen=True, slots=True)
class Guard:
    """One condition of a transition; `on_episode` guards read only the episode, so they
    decide which events an episode offers before any data is sent."""

    test: Callable[[Track, Mapping[str, Any]], bool]
    refusal: str
    on_episode: bool


_SURGERY_REASONS = frozenset(r.value for r in SurgeryReason)
_EARLY_REASONS = frozenset(r.value for r in EarlyAugmentationReason)


def _equals(key: str, value: str) -> Callable[[Track, Mapping[str, Any]], bool]:
    return lambda _track, data: data.get(key) == value


GUARDS: dict[str, Guard] = {
    "not_surgical_only": Guard(
        lambda track, _data: not track.surgical_only,
        "neurological deficit, instability or cord compression: only surgical referral "
        "(refer_surgery) or close", on_episode=True),
    "red_flags_excluded": Guard(
        lambda track, _data: not track.red_flags_open,
        "unresolved red flags: exclude malignancy first", on_episode=True),
    "symptoms_resolved": Guard(_equals("symptoms", Symptoms.RESOLVED.value),
                               "symptoms are not resolved", on_episode=False),
    "malignancy_suspected": Guard(
        _equals("finding", ImagingFinding.MALIGNANCY_SUSPECTED.value),
        "the imaging finding is not malignancy_suspected", on_episode=False),
    "decided_refer": Guard(_equals("decision", AugmentationDecision.REFER.value),
                           "the decision is not refer", on_episode=False),
    "decided_resolved": Guard(_equals("decision", AugmentationDecision.RESOLVED.value),
                              "the decision is not resolved", on_episode=False),
    "decided_continue": Guard(_equals("decision", AugmentationDecision.CONTINUE.value),
                              "the decision is not continue", on_episode=False),
    "early_augmentation_reason": Guard(
        lambda _track, data: data.get("reason") in _EARLY_REASONS,
        "reason must be one of " + ", ".join(sorted(_EARLY_REASONS)), on_episode=False),
    "surgery_reason_given": Guard(
        lambda _track, data: data.get("reason") in _SURGERY_REASONS,
        "reason must be one of " + ", ".join(sorted(_SURGERY_REASONS)), on_episode=False),
}


def passes(name: str, track: Track, data: Mapping[str, Any]) -> bool:
    """Whether guard `name` (or its negation, `!name`) holds."""
    if name.startswith("!"):
        return not GUARDS[name[1:]].test(track, data)
    return GUARDS[name].test(track, data)


def refusal(name: str) -> str:
    """The words that explain guard `name` (or `!name`) refusing."""
    if name.startswith("!"):
        return f"not ({GUARDS[name[1:]].refusal})"
    return GUARDS[name].refusal


def on_episode(name: str) -> bool:
    """Whether guard `name` reads only the episode."""
    return GUARDS[name.lstrip("!")].on_episode
