"""The SpiffWorkflow peer benchmark (`bench.peer_spiff`) checks what it measures, on a tiny
population: W1 ends every episode waiting at augmentation_review with its day-104 timer; W2's
first tick raises exactly the plan's count and the second nothing, in both configurations.

SpiffWorkflow is the optional `bench` extra, never a runtime dependency; the README's test
command installs it (`scripts/test.sh` installs `.[dev,bench]`), so this module always runs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from bench import peer_spiff  # noqa: E402
from bench.peer_spiff import WAITING, CheckFailed, Store  # noqa: E402


@pytest.fixture(scope="module")
def spec() -> object:
    return peer_spiff.parse_spec()  # also validates the BPMN file against the schema


@pytest.fixture
def today() -> dt.date:
    """W1 runs on the engine's real clock, so its episodes are identified today."""
    return dt.datetime.now(dt.UTC).date()


def store(config: str, spec: object, folder: Path) -> Store:
    return Store.create(config, spec, folder)


@pytest.mark.parametrize("config", peer_spiff.CONFIGS)
def test_w1_leaves_every_episode_at_augmentation_review_with_its_day_104_timer(
        config: str, spec: object, today: dt.date, tmp_path: Path) -> None:
    db = store(config, spec, tmp_path)
    try:
        result = peer_spiff.run_w1(db, 20, today)  # raises CheckFailed otherwise
        assert len(result.latencies) == 20 * len(peer_spiff.ROUNDS)
        due = peer_spiff.timer_at(today.isoformat(), 104)
        for episode_id in range(1, 21):
            workflow = db.read(db.conn.cursor(), episode_id)
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert [t.task_spec.name for t in ready] == ["augmentation_review"]
            assert [(e.name, e.value) for e in workflow.waiting_events()] == [
                ("augmentation_review_timer", due)]
        stored = json.loads(db.conn.execute("SELECT workflow FROM episodes").fetchone()[0])
        assert ("spec" in stored) == (config == "stock")  # best keeps the spec once, apart
    finally:
        db.drop()


def test_the_w1_check_refuses_an_episode_left_elsewhere(spec: object, today: dt.date,
                                                        tmp_path: Path) -> None:
    db = store("best", spec, tmp_path)
    try:
        episode = peer_spiff.create_one(db, today)
        peer_spiff.step_one(db, episode, "assess", {"neuro_deficit": False})
        with pytest.raises(CheckFailed):
            peer_spiff.check_w1(db, [episode], today)
    finally:
        db.drop()


@pytest.mark.parametrize("config", peer_spiff.CONFIGS)
def test_w2_tick_1_raises_the_plans_count_and_tick_2_nothing(
        config: str, spec: object, today: dt.date, tmp_path: Path) -> None:
    plan = peer_spiff.make_plan(300, today)
    due = {i for i, (day, state) in enumerate(zip(plan.identified_on, plan.states, strict=True))
           if day + dt.timedelta(days=WAITING[state][1]) <= today}
    assert [plan.states.count(s) for s in WAITING] == [100, 100, 100]
    assert 0.5 < len(due) / 300 < 0.8  # about 65 %
    db = store(config, spec, tmp_path)
    try:
        result = peer_spiff.run_w2(db, plan, peer_spiff.scan_instant(today))
        assert result.raised1 == result.expected == len(due)
        assert result.raised2 == 0
        for index, state in enumerate(plan.states):  # the reminder is on the main path's data
            workflow = db.read(db.conn.cursor(), index + 1)
            assert peer_spiff.reminders(workflow) == (
                [f"{state}_overdue"] if index in due else [])
            assert [t.task_spec.name for t in workflow.get_tasks(
                state=TaskState.READY, manual=True)] == [state]
    finally:
        db.drop()
