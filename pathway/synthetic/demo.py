"""Synthetic demo episodes spread over the last 200 days, in every state, through the use cases."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pathway.clock import local_day
from pathway.episodes import apply_event, open_episode
from pathway.errors import TransitionRefused
from pathway.store.versions import load_definition
from pathway.synthetic.cohort import data_set_steps
from pathway.vocabulary import LEVELS, MilestoneKind

Step = tuple[int, str, dict[str, Any]]

# Each path is a list of (day, event, data); steps later than today are left for the future.
PATHS: dict[str, list[Step]] = {
    "assessed": [],
    "conservative_care": [(1, "start_conservative_care", {})],
    "reassessed": [
        (1, "start_conservative_care", {}),
        (30, "record_reassessment", {"pain_score": 6, "symptoms": "persistent"}),
    ],
    "imaged": [
        (1, "start_conservative_care", {}),
        (33, "record_reassessment", {"pain_score": 5, "symptoms": "persistent"}),
        (58, "record_imaging", {"modality": "mri", "finding": "stable"}),
    ],
    "augmentation_referral": [
        (2, "start_conservative_care", {}),
        (29, "record_reassessment", {"pain_score": 7, "symptoms": "worse"}),
        (57, "record_imaging", {"modality": "ct", "finding": "progression"}),
        (95, "review_augmentation", {"decision": "refer"}),
    ],
    "early_augmentation": [
        (1, "start_conservative_care", {}),
        (10, "refer_early_augmentation", {"reason": "severe_disabling_pain"}),
    ],
    "resolved": [
        (1, "start_conservative_care", {}),
        (35, "record_reassessment", {"pain_score": 1, "symptoms": "resolved"}),
    ],
    "surgical_referral": [(0, "refer_surgery", {"reason": "neurological_deficit"})],
    "oncology_referral": [
        (0, "suspect_malignancy", {"red_flags": ["malignancy_history"]}),
        (12, "confirm_malignancy", {"biopsy_on": None}),
    ],
    "pathologic_workup": [(0, "suspect_malignancy", {"red_flags": ["unexplained_weight_loss"]})],
    "workup_excluded": [
        (0, "suspect_malignancy", {"red_flags": ["atypical_presentation"]}),
        (9, "exclude_malignancy", {}),
        (10, "start_conservative_care", {}),
    ],
    "closed": [
        (1, "start_conservative_care", {}),
        (20, "close", {"reason": "transferred"}),
    ],
}

COORDINATORS = ("demo", "alex", "sam", "jordan")
AGENTS = ("alendronate", "zoledronic_acid", "denosumab", "risedronate")


@dataclass(frozen=True)
class DemoResult:
    """How many episodes were made, by the path they followed."""

    episodes: int
    by_path: dict[str, int]


def _intake(rng: random.Random, index: int, day0: dt.date, path: str) -> dict[str, Any]:
    deficit = path == "surgical_referral"
    red = ["malignancy_history"] if path == "oncology_referral" else []
    return {
        "patient": {"mrn": f"DEMO{index:07d}", "name": f"Demo Patient {index}"},
        "levels": sorted(rng.sample(LEVELS[8:15], k=rng.choice((1, 1, 2))), key=LEVELS.index),
        "identified_on": day0.isoformat(),
        "cause": "osteoporotic",
        "neuro_exam": ["motor_weakness"] if deficit else "intact",
        "red_flags": red,
        "pain_score": rng.randint(3, 9),
        "coordinator": rng.choice(COORDINATORS),
    }


def _bone_health(rng: random.Random, age: int) -> list[Step]:
    steps: list[Step] = []
    if rng.random() < 0.7:
        steps.append((rng.randint(2, 20), "record_therapy", {"agent": rng.choice(AGENTS)}))
    elif rng.random() < 0.3:
        steps.append((rng.randint(2, 10), "decline_therapy", {"reason": "declined"}))
    if rng.random() < 0.75:
        steps.append((rng.randint(1, 16), "record_therapy", {"agent": "calcium_vitamin_d"}))
    if age > 90 and rng.random() < 0.6:
        steps.append((rng.randint(85, 110), "record_contact", {"kind": "liaison_monitoring"}))
    return steps


def make_demo(
    session: Session, *, episodes: int, now: dt.datetime, zone: ZoneInfo, seed: int = 7,
    spread_days: int = 200, progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Open `episodes` synthetic episodes with day 0 over the last `spread_days` days."""
    rng = random.Random(seed)
    today = local_day(now, zone)
    counts: Counter[str] = Counter()
    for index in range(episodes):
        path = rng.choice(list(PATHS))
        age = rng.randint(0, spread_days)
        day0 = today - dt.timedelta(days=age)
        episode = open_episode(session, intake=_intake(rng, index, day0, path),
                               actor="demo", now=now, zone=zone)
        has_data_set = MilestoneKind.FLS_ASSESSMENT in load_definition(
            session, episode.pathway_version).milestones  # version 2 on
        extra = (data_set_steps(day0, random.Random(f"{seed}:data-set:{index}"))
                 if has_data_set else [])
        steps = sorted(PATHS[path] + _bone_health(rng, age) + extra, key=lambda s: s[0])
        for day, event, data in steps:
            if day > age:
                break
            if event == "confirm_malignancy":
                data = {"biopsy_on": (day0 + dt.timedelta(days=day - 2)).isoformat()}
            try:
                apply_event(session, episode_id=episode.id, event=event, data=data,
                            actor="demo", now=now, zone=zone,
                            occurred_on=day0 + dt.timedelta(days=day))
            except TransitionRefused:
                continue  # a fact after `close` is refused before anything changes
        counts[path] += 1
        if progress is not None:
            progress(index + 1)
    return DemoResult(episodes=episodes, by_path=dict(counts))
