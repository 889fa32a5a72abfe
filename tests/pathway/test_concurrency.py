"""Two sessions apply events to one episode at once: one wins, one gets a conflict."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from pathway.episodes import apply_event, get_episode
from pathway.errors import Conflict
from pathway.models import EventRecord
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


def test_stale_session_gets_conflict_on_sqlite_too(sqlite_db: TestDatabase) -> None:
    with sqlite_db.sessions.begin() as s:
        episode_id = open_at(s).id
    stale = sqlite_db.sessions()
    loaded = get_episode(stale, episode_id)  # held, so the session keeps the stale row
    stale.commit()  # end its transaction (SQLite takes the write lock at BEGIN IMMEDIATE)
    with sqlite_db.sessions.begin() as s:
        apply_event(s, episode_id=episode_id, event="start_conservative_care", data={},
                    actor="winner", now=at(1), zone=UTC)
    with pytest.raises(Conflict):
        apply_event(stale, episode_id=episode_id, event="close", data={"reason": "withdrawn"},
                    actor="loser", now=at(1), zone=UTC)
    stale.rollback()
    assert loaded.version == 2  # reloaded after the rollback: the winner's version
    stale.close()
    with sqlite_db.sessions() as s:
        names = s.scalars(select(EventRecord.name).where(EventRecord.episode_id == episode_id)
                          .order_by(EventRecord.seq)).all()
        assert names == ["open_episode", "start_conservative_care"]
