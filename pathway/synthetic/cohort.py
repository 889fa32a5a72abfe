"""A synthetic cohort for `pathway simulate`: who arrives when, and what the clinic does.

Each episode gets a script: the events the clinic records and the day (after day 0) it records
them. Branches are drawn with the cohort's probabilities (`Outcomes`); the day a milestone is
met is its due day in the simulated pathway version plus a delay drawn from an exponential
distribution with the mean in `Delays` (a clinic that follows the reminders of a version acts
around that version's due days). Every episode draws from its own random stream seeded by
(seed, index), and the draws do not depend on the version, so two versions see the same
patients making the same choices: only the windows differ.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from pathway.definition import PathwayDefinition
from pathway.vocabulary import LEVELS, MilestoneKind

Step = tuple[int, str, dict[str, Any]]

THERAPY_AGENTS = ("alendronate", "zoledronic_acid", "denosumab", "risedronate")
FRACTURE_RISKS = ("low", "intermediate", "high", "very_high")


@dataclass(frozen=True)
class Outcomes:
    """Probabilities (0 to 1) of each branch of the pathway."""

    surgical: float = 0.03  # a neurological deficit at intake: surgical referral only
    red_flags: float = 0.06  # red flags at intake: work-up first
    malignancy: float = 0.3  # of work-ups: malignancy confirmed (else excluded)
    early_augmentation: float = 0.05  # referred early from conservative care
    resolved_at_reassessment: float = 0.35
    malignancy_at_imaging: float = 0.02
    review_refer: float = 0.4  # at the augmentation review
    review_continue: float = 0.3  # (the rest resolve); at most two re-armed reviews
    lost_to_follow_up: float = 0.03  # closed at some point after the plan decision
    therapy: float = 0.7  # an anti-osteoporosis agent is started
    declined: float = 0.1  # of those without therapy: declined
    calcium_vitamin_d: float = 0.75
    liaison_contact: float = 0.8
    adherence_review: float = 0.6  # of those with therapy
    adherent: float = 0.75


@dataclass(frozen=True)
class Delays:
    """Mean days after a milestone's due day until the clinic meets it (0: on the day)."""

    plan: float = 1.0
    reassessment: float = 7.0
    imaging: float = 4.0
    review: float = 7.0
    therapy: float = 5.0
    calcium_vitamin_d: float = 3.0
    liaison: float = 14.0
    adherence: float = 21.0


@dataclass(frozen=True)
class Cohort:
    """Who arrives and how the clinic behaves; the same cohort gives the same patients."""

    episodes: int = 500
    arrivals_per_day: float = 4.0
    days: int = 365
    seed: int = 7
    start: dt.date = dt.date(2026, 1, 5)
    outcomes: Outcomes = field(default_factory=Outcomes)
    delays: Delays = field(default_factory=Delays)


@dataclass(frozen=True)
class Patient:
    """One synthetic episode: its arrival day, intake and script."""

    index: int
    arrival_day: int
    intake: dict[str, Any]
    steps: list[Step]


def arrival_days(cohort: Cohort) -> list[int]:
    """The day each episode arrives (a Poisson process), within the simulated days."""
    rng = random.Random(f"{cohort.seed}:arrivals")
    days: list[int] = []
    clock = 0.0
    while len(days) < cohort.episodes:
        clock += rng.expovariate(cohort.arrivals_per_day) if cohort.arrivals_per_day > 0 else 0
        if clock >= cohort.days:
            break
        days.append(int(clock))
    return days


class _Draws:
    """An episode's random stream: chances, delays and picks, in a fixed order."""

    def __init__(self, seed: int | str, index: int) -> None:
        self.rng = random.Random(f"{seed}:{index}")

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def delay(self, mean: float) -> int:
        draw = self.rng.random()  # drawn even for a zero mean, so streams stay aligned
        return 0 if mean <= 0 else round(-mean * math.log1p(-draw))  # exponential

    def pick(self, options: tuple[str, ...]) -> str:
        return options[self.rng.randrange(len(options))]

    def between(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class _Script:
    """Builds one episode's steps against a pathway version's windows."""

    def __init__(self, cohort: Cohort, definition: PathwayDefinition, draws: _Draws) -> None:
        self.cohort = cohort
        self.definition = definition
        self.draws = draws
        self.steps: list[Step] = []

    def due(self, kind: MilestoneKind) -> int:
        return self.definition.milestone(kind).due_days

    def act(self, mean: float, due_day: int, not_before: int) -> int:
        return max(not_before, due_day + self.draws.delay(mean))

    def add(self, day: int, event: str, data: dict[str, Any] | None = None) -> None:
        self.steps.append((day, event, data or {}))

    def fracture_care(self, plan_day: int, surgical: bool, red_flags: bool) -> None:
        """The fracture-care track from the plan decision."""
        o = self.cohort.outcomes
        if surgical:
            self.add(plan_day, "refer_surgery", {"reason": "neurological_deficit"})
            return
        start = plan_day
        if red_flags:
            self.add(plan_day, "suspect_malignancy", {"red_flags": ["malignancy_history"]})
            workup_day = plan_day + self.draws.between(7, 21)
            if self.draws.chance(o.malignancy):
                self.add(workup_day, "confirm_malignancy")
                return
            self.add(workup_day, "exclude_malignancy")
            start = self.act(self.cohort.delays.plan, workup_day, workup_day)
        self.add(start, "start_conservative_care")
        self.conservative_care(start)

    def conservative_care(self, start: int) -> None:
        o, d = self.cohort.outcomes, self.cohort.delays
        if self.draws.chance(o.early_augmentation):
            self.add(start + self.draws.between(5, 20), "refer_early_augmentation",
                     {"reason": "severe_disabling_pain"})
            return
        day = self.act(d.reassessment, self.due(MilestoneKind.REASSESSMENT), start + 1)
        if self.draws.chance(o.resolved_at_reassessment):
            self.add(day, "record_reassessment", {"pain_score": 1, "symptoms": "resolved"})
            return
        self.add(day, "record_reassessment", {"pain_score": 6, "symptoms": "persistent"})
        day = self.act(d.imaging, self.due(MilestoneKind.FOLLOWUP_IMAGING), day + 1)
        if self.draws.chance(o.malignancy_at_imaging):
            self.add(day, "record_imaging", {"modality": "mri", "finding": "malignancy_suspected"})
            return
        self.add(day, "record_imaging", {"modality": "mri", "finding": "stable"})
        day = self.act(d.review, self.due(MilestoneKind.AUGMENTATION_REVIEW), day + 1)
        for review in range(3):
            draw = self.draws.rng.random()
            decision = ("refer" if draw < o.review_refer else
                        "continue" if draw < o.review_refer + o.review_continue and review < 2
                        else "resolved")
            self.add(day, "review_augmentation", {"decision": decision})
            if decision != "continue":
                return
            rearmed = day + (self.definition.milestone(MilestoneKind.AUGMENTATION_REVIEW)
                             .rearm_days or 0)
            day = self.act(d.review, rearmed, day + 1)

    def bone_health(self) -> None:
        """Therapy, calcium and vitamin D, liaison contact and the adherence review."""
        o, d = self.cohort.outcomes, self.cohort.delays
        therapy_due = self.due(MilestoneKind.OSTEOPOROSIS_THERAPY)
        treated = self.draws.chance(o.therapy)
        if treated:
            agent = self.draws.pick(THERAPY_AGENTS)
            day = self.act(d.therapy, therapy_due, 0)
            self.add(day, "record_therapy", {"agent": agent})
            if agent == "denosumab":
                again = self.act(d.therapy, day + self.due(MilestoneKind.DENOSUMAB_NEXT_DOSE), day)
                self.add(again, "record_therapy", {"agent": agent})
        elif self.draws.chance(o.declined):
            self.add(self.act(d.therapy, therapy_due, 0), "decline_therapy", {"reason": "declined"})
        if self.draws.chance(o.calcium_vitamin_d):
            self.add(self.act(d.calcium_vitamin_d, self.due(MilestoneKind.CALCIUM_VITAMIN_D), 0),
                     "record_therapy", {"agent": "calcium_vitamin_d"})
        if self.draws.chance(o.liaison_contact):
            self.add(self.act(d.liaison, self.due(MilestoneKind.LIAISON_MONITORING), 0),
                     "record_contact", {"kind": "liaison_monitoring"})
        if treated and self.draws.chance(o.adherence_review):
            adherent = self.draws.chance(o.adherent)
            self.add(self.act(d.adherence, self.due(MilestoneKind.ADHERENCE_REVIEW), 0),
                     "record_contact", {"kind": "adherence_review", "adherent": adherent})


    def data_set(self, day0: dt.date, draws: _Draws) -> None:
        """The fracture liaison data set (pathway version 2), from a stream of its own."""
        self.steps += data_set_steps(day0, draws.rng)


def data_set_steps(day0: dt.date, rng: random.Random) -> list[tuple[int, str, dict[str, Any]]]:
    """The fracture liaison data set of one patient, drawn from `rng` (a stream of its own, so
    the version-1 scripts stay as they were): assessment, DXA, falls, the therapy
    recommendation with its letter, strength and balance, each usually by its deadline."""
    def on(day: int) -> str:
        return (day0 + dt.timedelta(days=day)).isoformat()
    steps: list[tuple[int, str, dict[str, Any]]] = []
    if rng.random() < 0.85:
        assessed = rng.randint(3, 70)
        steps.append((assessed, "record_fls_assessment", {
            "assessed_on": on(assessed), "fracture_risk": rng.choice(FRACTURE_RISKS),
            "tool": "frax"}))
        if rng.random() < 0.85:
            day = assessed + rng.randint(0, 14)
            steps.append((day, "recommend_therapy", {
                "recommended_on": on(day), "agent": rng.choice(THERAPY_AGENTS),
                "to": "primary_care"}))
            steps.append((day + 1, "record_communication", {
                "kind": "primary_care_letter", "sent_on": on(day + 1)}))
    if rng.random() < 0.8:
        day = rng.randint(10, 95)
        steps.append((day, "record_dxa", {
            "performed_on": on(day), "t_score_lumbar": round(-4 + 3 * rng.random(), 1)}
            if rng.random() < 0.85 else {"not_done": "unable"}))
    if rng.random() < 0.75:
        day = rng.randint(5, 95)
        steps.append((day, "record_falls_assessment", {
            "assessed_on": on(day), "falls_risk": rng.choice(("low", "high")),
            "referred_to_falls_service": rng.random() < 0.5}))
    if rng.random() < 0.65:
        day = rng.randint(20, 120)
        steps.append((day, "record_strength_balance", {
            "started_on": on(day), "setting": "community"} if rng.random() < 0.8
            else {"not_started": "declined"}))
    return steps


def _intake(index: int, day0: dt.date, surgical: bool, red_flags: bool,
            draws: _Draws) -> dict[str, Any]:
    return {
        "patient": {"mrn": f"SIM{index:07d}"},
        "levels": [draws.pick(LEVELS[10:15])],
        "identified_on": day0.isoformat(),
        "cause": "osteoporotic",
        "neuro_exam": ["motor_weakness"] if surgical else "intact",
        "red_flags": ["malignancy_history"] if red_flags else [],
        "pain_score": draws.between(3, 9),
        "coordinator": f"coordinator{index % 4 + 1}",
    }


def patients(cohort: Cohort, definition: PathwayDefinition) -> list[Patient]:
    """The cohort's episodes with their scripts against `definition`'s windows."""
    found: list[Patient] = []
    for index, arrival in enumerate(arrival_days(cohort)):
        draws = _Draws(cohort.seed, index)
        o = cohort.outcomes
        surgical = draws.chance(o.surgical)
        red_flags = not surgical and draws.chance(o.red_flags)
        intake = _intake(index, cohort.start + dt.timedelta(days=arrival), surgical, red_flags,
                         draws)
        script = _Script(cohort, definition, draws)
        plan_day = script.act(cohort.delays.plan, script.due(MilestoneKind.PLAN_DECISION), 0)
        script.fracture_care(plan_day, surgical, red_flags)
        script.bone_health()
        if MilestoneKind.FLS_ASSESSMENT in definition.milestones:
            script.data_set(cohort.start + dt.timedelta(days=arrival),
                            _Draws(f"{cohort.seed}:data-set", index))
        steps = script.steps
        if draws.chance(o.lost_to_follow_up):
            close_day = plan_day + 1 + draws.between(0, 200)
            steps = [s for s in steps if s[0] < close_day]
            steps.append((close_day, "close", {"reason": "lost_to_follow_up"}))
        found.append(Patient(index, arrival, intake, sorted(steps, key=lambda s: s[0])))
    return found
