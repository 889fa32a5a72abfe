"""Random event sequences through the use cases, the machine rebuilt from the stored row at
every step: the state is always known, final states accept only facts and `close`, milestones
agree with the state, and replaying the log gives the stored state."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy.orm import Session

from pathway.definition import builtin_definition
from pathway.episodes import allowed_now, apply_event, get_episode, load_snapshot, replay
from pathway.errors import InvalidData, TransitionRefused
from pathway.milestones import all_milestones, open_milestones
from pathway.rules.table import table_of
from pathway.scan import raise_all_due
from pathway.vocabulary import TRACK_FINAL_STATES, CareState, Fact
from tests.builders import DAY0, UTC, at, open_at
from tests.support.databases import DatabaseFactory

WATCHED_BY_STATE = table_of(builtin_definition(1)).watched_by_state

_factory = DatabaseFactory(Path(tempfile.mkdtemp(prefix="pathway-stateful-")))

EVENT_DATA = st.sampled_from([
    ("start_conservative_care", {}),
    ("suspect_malignancy", {"red_flags": ["imaging_suspicious"]}),
    ("exclude_malignancy", {}),
    ("confirm_malignancy", {}),
    ("record_reassessment", {"pain_score": 3, "symptoms": "persistent"}),
    ("record_reassessment", {"pain_score": 0, "symptoms": "resolved"}),
    ("record_imaging", {"modality": "mri", "finding": "stable"}),
    ("record_imaging", {"modality": "ct", "finding": "malignancy_suspected"}),
    ("review_augmentation", {"decision": "continue"}),
    ("review_augmentation", {"decision": "refer"}),
    ("review_augmentation", {"decision": "resolved"}),
    ("refer_early_augmentation", {"reason": "hospital_admission"}),
    ("refer_early_augmentation", {"reason": "nonsense"}),
    ("refer_surgery", {"reason": "instability"}),
    ("refer_surgery", {}),
    ("resolve", {}),
    ("close", {"reason": "withdrawn"}),
    ("record_therapy", {"agent": "denosumab"}),
    ("record_therapy", {"agent": "calcitonin"}),
    ("decline_therapy", {"reason": "contraindicated"}),
    ("record_neuro_change", {"findings": ["motor_weakness"]}),
    ("record_symptom_change", {"text": "worse at night"}),
    ("record_contact", {"kind": "liaison_monitoring"}),
])


class EpisodeLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = _factory.sqlite()
        self.day = 0

    @initialize(red_flags=st.booleans(), intact=st.booleans())
    def open(self, red_flags: bool, intact: bool) -> None:
        with self.db.sessions.begin() as s:
            ep = open_at(s, red_flags=["malignancy_history"] if red_flags else [],
                         neuro_exam="intact" if intact else ["motor_weakness"])
            self.episode_id = ep.id

    @rule(choice=EVENT_DATA, gap=st.integers(min_value=0, max_value=30))
    def send(self, choice: tuple[str, dict[str, object]], gap: int) -> None:
        event, data = choice
        self.day += gap
        with self.db.sessions() as s:  # a new session: the machine is rebuilt from the row
            before = get_episode(s, self.episode_id)
            state, version, allowed = before.state, before.version, allowed_now(before)
            try:
                applied = apply_event(s, episode_id=self.episode_id, event=event, data=data,
                                      actor="hypothesis", now=at(self.day), zone=UTC,
                                      occurred_on=DAY0 + dt.timedelta(days=self.day))
                s.commit()
            except (TransitionRefused, InvalidData):
                s.rollback()
                assert get_episode(s, self.episode_id).version == version
                return
            assert event in allowed
            assert applied.episode.version == version + 1
            # The edge renders the snapshot the use case left behind: it is what a fresh
            # load sees (milestones and open reminders included), so nothing is read again.
            fresh = load_snapshot(s, self.episode_id)
            assert applied.episode.milestones == fresh.milestones
            assert applied.episode.reminders == fresh.reminders
            assert replace(applied.episode, latest_imaging_on=None) == replace(
                fresh, latest_imaging_on=None)
            if state in TRACK_FINAL_STATES:
                assert event == "close" or event in {f.value for f in Fact}

    @rule(gap=st.integers(min_value=0, max_value=40))
    def scan(self, gap: int) -> None:
        """The scheduler's scan runs: reminders fall due, for later events to resolve."""
        self.day += gap
        with self.db.sessions.begin() as s:
            raise_all_due(s, now=at(self.day))

    def _session(self) -> Session:
        return self.db.sessions()

    @invariant()
    def state_is_known_and_milestones_agree(self) -> None:
        if not hasattr(self, "episode_id"):
            return
        with self._session() as s:
            ep = get_episode(s, self.episode_id)
            assert ep.state in {c.value for c in CareState}
            kinds = {m.kind for m in open_milestones(s, ep.id)}
            watched = set(WATCHED_BY_STATE.values())
            expected = {WATCHED_BY_STATE[ep.state]} if ep.state in WATCHED_BY_STATE else set()
            assert kinds & watched == expected
            if ep.state == CareState.CLOSED:
                assert kinds == set() and allowed_now(ep) == []
            assert replay(s, ep.id).matches_stored
            # Each milestone knows whether it is the episode's first of its kind (the KPIs
            # count those): exactly the ones with no earlier milestone of that kind.
            seen: set[str] = set()
            for milestone in all_milestones(s, ep.id):
                assert milestone.first_of_kind == (milestone.kind not in seen), milestone.kind
                seen.add(milestone.kind)

    def teardown(self) -> None:
        _factory.drop(self.db)


EpisodeLifecycle.TestCase.settings = settings(
    max_examples=40, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEpisodeLifecycle = EpisodeLifecycle.TestCase
