"""Two sessions apply events to one episode at once: one wins, one gets a conflict."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from pathway.episodes import apply_event, get_episode, load_snapshot
from pathway.errors import Conflict, PreconditionFailed
from pathway.event_data import validate_event_data
from pathway.rules.decide import decide_event
from pathway.store import episodes as store
from pathway.store.models import EventRecord
from pathway.store.versions import load_definition
from tests.builders import DAY0, UTC, at, open_at
from tests.support.databases import TestDatabase


def test_concurrent_events_one_wins_one_conflicts(pg_db: TestDatabase) -> None:
    with pg_db.sessions.begin() as s:
        episode_id = open_at(s).id
    first, second = pg_db.sessions(), pg_db.sessions()
    try:
        # Both load version 1 before either writes (and hold the rows).
        loaded = [get_episode(s, episode_id) for s in (first, second)]
        assert [e.version for e in loaded] == [1, 1]
        apply_event(first, episode_id=episode_id, event="start_conservative_care", data={},
                    actor="first", now=at(1), zone=UTC, occurred_on=DAY0)
        outcome: dict[str, BaseException | None] = {}

        def loser() -> None:
            try:
                apply_event(second, episode_id=episode_id, event="suspect_malignancy",
                            data={"red_flags": ["imaging_suspicious"]}, actor="second",
                            now=at(1), zone=UTC, occurred_on=DAY0)
                second.commit()
                outcome["error"] = None
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
                second.rollback()
                outcome["error"] = exc

        # The second UPDATE blocks on the first's row lock until it commits, then finds the
        # version moved on.
        thread = threading.Thread(target=loser)
        thread.start()
        thread.join(timeout=1)
        first.commit()
        thread.join(timeout=30)
        assert isinstance(outcome["error"], Conflict)
    finally:
        first.close()
        second.close()
    with pg_db.sessions() as s:
        ep = get_episode(s, episode_id)
        log = s.scalars(select(EventRecord).where(EventRecord.episode_id == episode_id)
                        .order_by(EventRecord.seq)).all()
        assert ep.state == "conservative_care" and ep.version == 2
        assert [(r.seq, r.name, r.actor) for r in log] == [
            (1, "open_episode", "test"), (2, "start_conservative_care", "first")]


def test_a_stale_snapshot_gets_conflict_and_writes_nothing(sqlite_db: TestDatabase) -> None:
    """The store claims the version the snapshot was loaded at; once another writer has moved
    the episode on, the claim fails before anything is written."""
    with sqlite_db.sessions.begin() as s:
        episode_id = open_at(s).id
    with sqlite_db.sessions.begin() as s:
        stale = load_snapshot(s, episode_id)
    with sqlite_db.sessions.begin() as s:
        apply_event(s, episode_id=episode_id, event="start_conservative_care", data={},
                    actor="winner", now=at(1), zone=UTC)
    with sqlite_db.sessions.begin() as s:
        definition = load_definition(s, stale.pathway_version)
        changes = decide_event(stale, definition, event="close",
                               payload=validate_event_data("close", {"reason": "withdrawn"}),
                               occurred_on=DAY0, now=at(1), zone=UTC, actor="loser")
        with pytest.raises(Conflict):
            store.apply(s, stale.id, stale.version, changes)
    with sqlite_db.sessions() as s:
        names = s.scalars(select(EventRecord.name).where(EventRecord.episode_id == episode_id)
                          .order_by(EventRecord.seq)).all()
        assert names == ["open_episode", "start_conservative_care"]
        assert load_snapshot(s, episode_id).state == "conservative_care"


def test_a_stale_if_match_is_refused(sqlite_db: TestDatabase) -> None:
    with sqlite_db.sessions.begin() as s:
        episode_id = open_at(s).id
        apply_event(s, episode_id=episode_id, event="start_conservative_care", data={},
                    actor="winner", now=at(1), zone=UTC, expected_version=1)
    with sqlite_db.sessions.begin() as s, pytest.raises(PreconditionFailed) as refused:
        apply_event(s, episode_id=episode_id, event="close", data={"reason": "withdrawn"},
                    actor="loser", now=at(1), zone=UTC, expected_version={1})
    assert (refused.value.expected, refused.value.actual) == (1, 2)
