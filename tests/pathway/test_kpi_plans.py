"""A KPI report reads its cohort through indexes: its cost follows the cohort, not the
service's size (SQLite's query plans, checked for every statement a report sends, once the
statistics the scheduler refreshes daily, and `pathway migrate` at once, are there)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from pathway.kpis import compute_kpis, monthly_kpis
from pathway.store.db import refresh_statistics, transaction
from pathway.synthetic.demo import make_demo
from tests.support.databases import TestDatabase

T0 = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


def test_reports_never_scan_the_episodes_or_events(sqlite_db: TestDatabase) -> None:
    with transaction(sqlite_db.sessions) as session:
        make_demo(session, episodes=40, now=T0, zone=ZoneInfo("UTC"), seed=5)
    refresh_statistics(sqlite_db.engine)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        sent.append((sql, params))

    event.listen(sqlite_db.engine, "before_cursor_execute", capture)
    try:
        with sqlite_db.sessions() as session:
            for report in (compute_kpis, monthly_kpis):
                report(session, start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30), now=T0,
                       zone=ZoneInfo("UTC"))
            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            plans = [[row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
                     for sql, params in sent if sql.lstrip().startswith("SELECT")]
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", capture)
    steps = [step for plan in plans for step in plan]
    assert any("ix_episodes_identified_on" in step for step in steps)
    assert any("ix_events_closings" in step for step in steps)
    # Walking the closings' partial index is allowed: one entry per closed episode.
    scans = [step for step in steps if step.startswith("SCAN ") and (
        "episodes" in step or "events" in step or "milestones" in step)
        and "ix_events_closings" not in step]
    assert scans == [], scans


def test_statistics_are_sampled_on_sqlite_and_left_to_postgresql(
        sqlite_db: TestDatabase, pg_db: TestDatabase) -> None:
    with transaction(sqlite_db.sessions) as session:
        make_demo(session, episodes=5, now=T0, zone=ZoneInfo("UTC"), seed=5)
    refresh_statistics(sqlite_db.engine)
    with sqlite_db.engine.connect() as conn:
        tables = {row[0] for row in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"episodes", "milestones", "events"} <= tables
    refresh_statistics(pg_db.engine)  # nothing to do: autovacuum analyses PostgreSQL
