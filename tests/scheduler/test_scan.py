"""The scan: idempotent, catches up after downtime, costs what the due rows cost."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from pathway.scan import raise_all_due
from pathway.store.models import Episode, Milestone, Reminder, ReminderAction
from scheduler.jobs import scan
from tests.builders import DAY0, at, open_at, send
from tests.scheduler.support import Clock, make_runtime
from tests.support.databases import TestDatabase

#: Days from day 0 at which an episode in conservative care from day 1 gets a reminder.
CONSERVATIVE_ALERTS = {"osteoporosis_therapy_overdue": 14, "calcium_vitamin_d_overdue": 14,
                       "reassessment_due": 28, "reassessment_overdue": 42,
                       "liaison_monitoring_overdue": 112,
                       # pathway version 2's data set, open from day 0
                       "fls_assessment_overdue": 90, "dxa_overdue": 90,
                       "falls_assessment_overdue": 90, "therapy_recommendation_overdue": 90,
                       "strength_balance_overdue": 112}


@contextmanager
def statements(db: TestDatabase) -> Iterator[list[tuple[str, Any]]]:
    """Capture the SQL statements (and parameters) sent to the database."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is not a query
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def raised_pairs(session: Session) -> set[tuple[int, str]]:
    return {(eid, kind) for eid, kind in session.execute(select(Reminder.episode_id,
                                                               Reminder.kind))}


def test_two_scans_in_a_row_raise_nothing_the_second_time(session: Session) -> None:
    for _ in range(3):
        episode = open_at(session)
        send(session, episode, "start_conservative_care", 1)
    first = raise_all_due(session, now=at(50))
    second = raise_all_due(session, now=at(50, 10))
    assert first.raised == 3 * 4  # therapy, calcium, reassessment due and overdue
    assert second.raised == 0 and second.examined == 0
    assert session.scalar(select(func.count()).select_from(Reminder)) == 12
    raised_actions = select(func.count()).select_from(ReminderAction).where(
        ReminderAction.action == "raised")
    assert session.scalar(raised_actions) == 12


def test_a_scan_after_a_30_day_gap_raises_everything_due_in_it_once(session: Session) -> None:
    episodes: dict[int, int] = {}  # episode id -> day-0 offset from DAY0
    for i in range(30):
        offset = 2 * i
        episode = open_at(session, day=offset,
                          identified_on=(DAY0 + dt.timedelta(days=offset)).isoformat())
        send(session, episode, "start_conservative_care", offset + 1)
        episodes[episode.id] = offset
    raise_all_due(session, now=at(70, 0))
    before = raised_pairs(session)

    gap = raise_all_due(session, now=at(100, 0))

    expected = {(eid, kind) for eid, offset in episodes.items()
                for kind, day in CONSERVATIVE_ALERTS.items() if 70 < offset + day <= 100}
    assert raised_pairs(session) - before == expected
    assert gap.raised == len(expected) > 20
    assert raise_all_due(session, now=at(100, 0)).raised == 0
    # Both the heads-up and the overdue of one milestone fell in the gap: both were raised.
    assert any((eid, "reassessment_due") in expected and (eid, "reassessment_overdue") in expected
               for eid in episodes)


def test_a_scan_with_nothing_due_is_one_statement_whatever_the_episode_count(
    db: TestDatabase, session: Session,
) -> None:
    for _ in range(150):
        open_at(session)
    session.commit()
    with statements(db) as seen:
        result = raise_all_due(session, now=at(2))
    assert result.examined == 0
    assert len(seen) == 1
    assert "next_alert_at" in seen[0][0]


def test_the_scan_query_uses_the_partial_index(db: TestDatabase, session: Session) -> None:
    episode = open_at(session)
    session.commit()
    # Many milestones that are done or far off, a few due: what a real site looks like.
    far = at(3000)
    rows = [dict(episode_id=episode.id, kind="liaison_monitoring", status="met",
                 anchor_on=DAY0, due_on=DAY0, overdue_on=DAY0, due_at=far, overdue_at=far,
                 next_alert_at=None if i % 10 else far + dt.timedelta(minutes=i),
                 next_alert_kind=None if i % 10 else "liaison_monitoring_overdue",
                 created_at=at(0)) for i in range(20000)]
    session.execute(Milestone.__table__.insert(), rows)
    session.commit()
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE" if db.backend == "postgresql" else "ANALYZE milestones"))
        conn.commit()
    with statements(db) as seen:
        raise_all_due(session, now=at(2))
    session.rollback()
    statement, parameters = seen[0]
    explain = "EXPLAIN" if db.backend == "postgresql" else "EXPLAIN QUERY PLAN"
    with db.engine.connect() as conn:
        plan = "\n".join(str(row) for row in conn.exec_driver_sql(
            f"{explain} {statement}", parameters))
    assert "ix_milestones_next_alert_at" in plan, plan


def test_the_scan_job_commits_per_batch_and_covers_every_due_row(db: TestDatabase) -> None:
    with db.sessions() as session:
        for _ in range(25):
            open_at(session)
        session.commit()
    clock = Clock(at(20, 0))
    runtime = make_runtime(db, clock)
    result = scan(runtime, batch=7)
    assert (result.examined, result.raised) == (75, 75)  # plan, therapy, calcium per episode
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == 75
        assert session.scalar(select(func.count()).select_from(Milestone).where(
            Milestone.next_alert_at <= clock())) == 0
    assert scan(runtime, batch=7).raised == 0


def test_closed_episodes_leave_the_schedule(session: Session) -> None:
    episode = open_at(session)
    send(session, episode, "close", 1, reason="entered_in_error")
    assert raise_all_due(session, now=at(400)).examined == 0
    assert session.get_one(Episode, episode.id).state == "closed"


def test_an_event_racing_a_scan_still_resolves_what_the_scan_raised(pg_db: TestDatabase) -> None:
    """A scan (another process) has claimed and raised a milestone's reminder but not yet
    committed when an event meets that milestone: once both commit, the reminder is resolved."""
    with pg_db.sessions() as session:
        episode = open_at(session)
        session.commit()
    scanner = pg_db.sessions()
    assert raise_all_due(scanner, now=at(14, 0)).raised == 3  # holds the milestone row locks

    def meet() -> None:
        with pg_db.sessions() as session:
            send(session, episode, "record_therapy", 15, agent="calcium_vitamin_d")
            session.commit()

    worker = threading.Thread(target=meet)
    worker.start()
    time.sleep(0.5)  # the event has read the milestones and waits for the scan's row lock
    scanner.commit()
    scanner.close()
    worker.join(timeout=30)
    with pg_db.sessions() as session:
        reminder = session.scalars(select(Reminder).where(
            Reminder.kind == "calcium_vitamin_d_overdue")).one()
        assert (reminder.status, reminder.resolution) == ("resolved", "milestone_met")
