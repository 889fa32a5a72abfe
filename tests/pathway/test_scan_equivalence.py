"""Property: the per-episode scan and the set-based scan raise the same reminders.

Hypothesis draws a cohort (day 0s, intake findings) and a random sequence of events per
episode; twin databases get the same history through the use cases, then one is scanned by
the per-episode path (`pathway.reminders.raise_due_reminders`, the rules' `due_alerts`) and
the other by the bulk scan (`pathway.scan.raise_due_in_bulk`, SQL built from the rules'
`scan_plan`). Everything they write must be equal: reminders, milestones' alerts, history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from pathway.episodes import apply_event, open_episode
from pathway.errors import InvalidData, TransitionRefused
from pathway.store.db import transaction
from tests.builders import UTC, intake
from tests.conftest import make_database
from tests.pathway.test_bulk_scan import scan_until_idle, state
from tests.support.databases import DatabaseFactory, TestDatabase

T0 = dt.date(2026, 6, 1)
DATA: dict[str, list[dict[str, Any]]] = {
    "start_conservative_care": [{}],
    "suspect_malignancy": [{"red_flags": ["malignancy_history"]}],
    "exclude_malignancy": [{}],
    "confirm_malignancy": [{}],
    "record_reassessment": [{"pain_score": 3, "symptoms": s}
                            for s in ("resolved", "persistent")],
    "record_imaging": [{"modality": "mri", "finding": f} for f in ("stable",
                                                                    "malignancy_suspected")],
    "review_augmentation": [{"decision": d} for d in ("refer", "continue", "resolved")],
    "refer_early_augmentation": [{"reason": "severe_disabling_pain"}],
    "refer_surgery": [{"reason": "instability"}],
    "resolve": [{}],
    "close": [{"reason": "withdrawn"}],
    "record_therapy": [{"agent": a} for a in ("alendronate", "denosumab", "calcitonin",
                                              "calcium_vitamin_d")],
    "decline_therapy": [{"reason": "declined"}],
    "record_neuro_change": [{"findings": ["motor_weakness"]}],
    "record_symptom_change": [{"text": "worse at night"}],
    "record_contact": [{"kind": "liaison_monitoring"},
                       {"kind": "adherence_review", "adherent": True}],
}
# The happy path is drawn more often than the rest, so episodes get far along it.
FORWARD = ["start_conservative_care", "record_reassessment", "record_imaging",
           "review_augmentation"]
event = st.one_of(st.sampled_from(FORWARD), st.sampled_from(sorted(DATA))).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(range(len(DATA[name]))),
                           st.integers(0, 45)))
episode = st.fixed_dictionaries({
    "day0": st.integers(-220, 0),
    "neuro": st.sampled_from(["intact", "intact", "intact", ["motor_weakness"]]),
    "red_flags": st.sampled_from([[], [], ["imaging_suspicious"]]),
    "events": st.lists(event, max_size=8),
})
cohort = st.tuples(st.lists(episode, min_size=1, max_size=5), st.integers(0, 90))


def _history(database: TestDatabase, episodes: list[dict[str, Any]]) -> None:
    """Open and move the cohort through the use cases, up to T0."""
    for number, drawn in enumerate(episodes):
        day = T0 + dt.timedelta(days=drawn["day0"])
        with transaction(database.sessions) as session:
            episode_id = open_episode(session, intake=intake(
                patient={"mrn": f"EQ{number:04d}"}, identified_on=day.isoformat(),
                neuro_exam=drawn["neuro"], red_flags=drawn["red_flags"]), actor="test",
                now=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC), zone=UTC).id
        for name, variant, gap in drawn["events"]:
            day += dt.timedelta(days=gap)
            if day > T0:
                break  # the scan runs after T0: what falls due since is the scan's to raise
            now = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
            try:
                with transaction(database.sessions) as session:
                    apply_event(session, episode_id=episode_id, event=name,
                                data=DATA[name][variant], actor="test", now=now, zone=UTC,
                                occurred_on=day)
            except (TransitionRefused, InvalidData):
                pass  # refused: nothing changed, as in production


def _check(factory: DatabaseFactory, backend: str, drawn: tuple[list[dict[str, Any]], int]
           ) -> None:
    episodes, wait = drawn
    per_episode, bulk = make_database(factory, backend), make_database(factory, backend)
    try:
        _history(per_episode, episodes)
        _history(bulk, episodes)
        scan_at = dt.datetime.combine(T0, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(days=wait)
        raised = scan_until_idle(per_episode, scan_at, bulk=False)
        target(float(raised))  # steer towards cohorts whose scan has work to do
        assert scan_until_idle(bulk, scan_at, bulk=True) == raised
        with per_episode.sessions() as a, bulk.sessions() as b:
            assert state(a) == state(b)
    finally:
        factory.drop(per_episode)
        factory.drop(bulk)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=cohort)
def test_per_episode_and_bulk_scans_agree_on_sqlite(
        database_factory: DatabaseFactory, drawn: tuple[list[dict[str, Any]], int]) -> None:
    _check(database_factory, "sqlite", drawn)


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=cohort)
def test_per_episode_and_bulk_scans_agree_on_postgresql(
        database_factory: DatabaseFactory, drawn: tuple[list[dict[str, Any]], int]) -> None:
    _check(database_factory, "postgresql", drawn)
