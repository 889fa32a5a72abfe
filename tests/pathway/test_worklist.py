"""The worklist's keyset pages: most overdue first, then episodes with nothing overdue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from pathway.store.models import Episode
from pathway.store.worklist import Cursor, EpisodeFilter, list_episodes
from tests.builders import DAY0, open_at, send


def _pages(session: Session, where: EpisodeFilter, size: int) -> list[int]:
    seen: list[int] = []
    after: Cursor | None = None
    while True:
        rows, after = list_episodes(session, where=where, limit=size,
                                    after=Cursor.decode(after.encode()) if after else None)
        seen += [e.id for e in rows]
        if after is None:
            return seen


def test_pages_walk_dated_then_undated_episodes_without_gaps_or_repeats(
        session: Session) -> None:
    episodes = [open_at(session, identified_on=(DAY0 - dt.timedelta(days=d % 3)).isoformat())
                for d in range(7)]
    for episode in episodes[::3]:
        send(session, episode, "close", 1, reason="withdrawn")  # nothing left to be overdue
    session.commit()
    expected = sorted(session.query(Episode).all(), key=lambda e: (
        e.next_overdue_at is None, e.next_overdue_at or dt.datetime.min.replace(tzinfo=dt.UTC),
        e.id))
    assert sum(e.next_overdue_at is None for e in expected) == 3
    for size in (1, 2, 3, 7, 50):
        assert _pages(session, EpisodeFilter(), size) == [e.id for e in expected], size
    open_only = [e.id for e in expected if e.state != "closed"]
    assert _pages(session, EpisodeFilter(open_only=True), 2) == open_only
