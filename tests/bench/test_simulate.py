"""`pathway simulate`: the same patients on two versions, and counts checked against the scripts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pathway.definition import PathwayDefinition, builtin_definition, parse_definition
from pathway.settings import get_settings
from pathway.synthetic.cohort import Cohort, Delays, Outcomes, patients
from pathway.synthetic.simulate import SimulationResult, simulate
from pathway_cli.main import main
from tests.support.databases import DatabaseFactory, TestDatabase

UTC = ZoneInfo("UTC")
PLAN_STEPS = {"start_conservative_care", "refer_surgery", "suspect_malignancy"}


def with_windows(version: int, **overdue_days: int) -> PathwayDefinition:
    """Version 1 renumbered, with some milestones' overdue day moved."""
    data = builtin_definition(1).as_data()
    data["version"] = version
    for kind, day in overdue_days.items():
        data["milestones"][kind]["overdue_days"] = day
    return parse_definition(data)


def run(database: TestDatabase, cohort: Cohort, definition: PathwayDefinition
        ) -> SimulationResult:
    return simulate(database.sessions, cohort=cohort, definition=definition, zone=UTC)


def test_two_versions_get_the_same_patients_making_the_same_choices() -> None:
    cohort = Cohort(episodes=60, arrivals_per_day=3, days=200, seed=3)
    later = with_windows(2, plan_decision=10)
    data = later.as_data()
    data["milestones"]["reassessment"]["due_days"] = 21
    later = parse_definition(data)
    first, second = patients(cohort, builtin_definition(1)), patients(cohort, later)
    assert [p.intake for p in first] == [p.intake for p in second]
    assert [[s[1:] for s in p.steps] for p in first] == [[s[1:] for s in p.steps] for p in second]
    reassessed = [(a, b) for p, q in zip(first, second, strict=True)
                  for a, b in zip(p.steps, q.steps, strict=True) if a[1] == "record_reassessment"]
    assert reassessed and any(b[0] < a[0] for a, b in reassessed)  # acted on the earlier window
    assert patients(Cohort(episodes=60, arrivals_per_day=3, days=200, seed=4),
                    builtin_definition(1))[0].steps != first[0].steps


def test_a_clinic_that_is_always_on_time_raises_no_overdue_reminder(
        sqlite_db: TestDatabase) -> None:
    cohort = Cohort(
        episodes=25, arrivals_per_day=2, days=150, seed=5,
        outcomes=Outcomes(lost_to_follow_up=0, therapy=1, calcium_vitamin_d=1,
                          liaison_contact=1, red_flags=0),
        delays=Delays(**{f.name: 0 for f in dataclasses.fields(Delays)}))
    result = run(sqlite_db, cohort, builtin_definition(1))
    assert result.episodes == 25 and result.refused == 0
    assert result.events == sum(
        1 for p in patients(cohort, builtin_definition(1)) for s in p.steps
        if p.arrival_day + s[0] < cohort.days)
    assert set(result.reminders) <= {"reassessment_due"}  # heads-ups only, nothing overdue
    rated = [k for k in result.kpis.kpis if k.denominator]
    assert rated and all(k.numerator == k.denominator for k in rated)


def test_a_longer_plan_window_raises_exactly_the_plan_reminders_the_scripts_predict(
        sqlite_db: TestDatabase, database_factory: DatabaseFactory) -> None:
    cohort = Cohort(episodes=40, arrivals_per_day=2, days=120, seed=9,
                    outcomes=Outcomes(red_flags=0, surgical=0.1),
                    delays=Delays(plan=4.0))
    v1 = builtin_definition(1)
    late = [p for p in patients(cohort, v1)
            if next(s[0] for s in p.steps if s[1] in PLAN_STEPS) >= 3
            and p.arrival_day + 3 < cohort.days]
    second = database_factory.sqlite()
    try:
        first = run(sqlite_db, cohort, v1)
        relaxed = run(second, cohort, with_windows(3, plan_decision=30))
    finally:
        database_factory.drop(second)
    assert late, "the cohort should have plan decisions after day 3"
    assert first.reminders.get("plan_overdue", 0) == len(late)
    assert relaxed.reminders.get("plan_overdue", 0) == 0
    assert first.episodes == relaxed.episodes == 40
    assert first.states == relaxed.states  # same patients, same outcomes


def test_the_command_prints_both_versions_side_by_side(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    compare = tmp_path / "v3.json"
    compare.write_text(json.dumps(with_windows(3, plan_decision=30).as_data()))
    monkeypatch.setenv("PATHWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        code = main(["simulate", "--episodes", "15", "--days", "40", "--seed", "2",
                     "--delay", "plan=5", "--outcome", "red_flags=0",
                     "--compare-file", str(compare)])
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert code == 0
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["version"] == ["2", "version", "3"]  # the newest built-in, then the file
    assert lines["episodes"] == ["15", "15"]
    cohort = Cohort(episodes=15, days=40, seed=2, delays=Delays(plan=5),
                    outcomes=Outcomes(red_flags=0))
    late = [p for p in patients(cohort, builtin_definition(2))
            if next(s[0] for s in p.steps if s[1] in PLAN_STEPS) >= 3
            and p.arrival_day + 3 < cohort.days]
    assert late and lines["plan_overdue"] == [str(len(late)), "0"]


def test_unknown_outcome_names_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--outcome", "cured=0.5"]) == 2
    assert "outcome" in capsys.readouterr().err


def test_version_2_and_version_1_side_by_side_on_one_cohort(
        sqlite_db: TestDatabase, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`pathway simulate --pathway-version 1` on a migrated database: the current version 2
    raises the data set's reminders past day 90 for the patients the cohort leaves without an
    item, version 1 none; the same patients."""
    monkeypatch.setenv("PATHWAY_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    try:
        code = main(["simulate", "--episodes", "20", "--days", "130", "--seed", "4",
                     "--pathway-version", "1"])
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert code == 0
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["version"] == ["2", "version", "1"]
    assert lines["episodes"] == ["20", "20"]
    for kind in ("fls_assessment_overdue", "dxa_overdue", "therapy_recommendation_overdue"):
        on_two, on_one = (int(n) for n in lines[kind])
        assert on_two > 0 and on_one == 0, kind
    assert lines["dxa"][0] != "-" and lines["dxa"][1] == "-"  # version 1 has no such item
    assert lines["plan_overdue"][0] == lines["plan_overdue"][1]  # the shared rules agree
