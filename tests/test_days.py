"""Calendar days on SQLite are integer days since 1970-01-01 (`column_types.Day`): every
writer stores that form, every reader gets dates back, and migration 0005 converts a database
written in the old text form (and back) without losing a day."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import bindparam, select, text

from pathway.store.db import make_engine, make_sessionmaker, transaction
from pathway.store.models import Base, Day, Episode, EventRecord, Milestone, Patient
from pathway.synthetic.demo import make_demo
from pathway_cli.schema import alembic_config
from tests.support.databases import TestDatabase

ZONE = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)


def day_columns() -> dict[str, list[str]]:
    return {table.name: [c.name for c in table.columns if isinstance(c.type, Day)]
            for table in Base.metadata.sorted_tables
            if any(isinstance(c.type, Day) for c in table.columns)}


def test_day_numbers_round_trip() -> None:
    day = Day()
    sqlite_dialect = make_engine("sqlite://").dialect
    bind = day.process_bind_param
    result = day.process_result_value
    assert bind(dt.date(1970, 1, 1), sqlite_dialect) == 0
    assert bind(dt.date(2026, 3, 2), sqlite_dialect) == 20514
    for value in (dt.date(1900, 1, 1), dt.date(1969, 12, 31), dt.date(2026, 2, 28),
                  dt.date(2028, 2, 29), dt.date(9999, 12, 31)):
        assert result(bind(value, sqlite_dialect), sqlite_dialect) == value
    with pytest.raises(TypeError):  # a datetime is a date to Python, not a day here
        bind(NOW, sqlite_dialect)
    with pytest.raises(TypeError):  # a text day left over would be misread: refused loudly
        result("2026-03-02", sqlite_dialect)


def test_every_writer_stores_day_numbers_on_sqlite(db: TestDatabase) -> None:
    """Patients, episodes, events, milestones, therapies, imaging and reminders of the demo
    cohort (every state): no day column holds text, and days read back as written."""
    with transaction(db.sessions) as session:
        make_demo(session, episodes=30, now=NOW, zone=ZONE)
    if db.backend == "sqlite":
        conn = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        seen = set()
        for table, columns in day_columns().items():
            for column in columns:
                kinds = {k for (k,) in conn.execute(
                    f"SELECT DISTINCT typeof({column}) FROM {table}")}
                assert kinds <= {"integer", "null"}, (table, column, kinds)
                seen |= {(table, column)} if "integer" in kinds else set()
        conn.close()
        assert {("episodes", "identified_on"), ("events", "occurred_on"),
                ("milestones", "due_on"), ("reminders", "due_on")} <= seen
    with db.sessions() as session:
        for episode in session.scalars(select(Episode)):
            milestones = session.scalars(select(Milestone).where(
                Milestone.episode_id == episode.id)).all()
            assert all(m.anchor_on >= episode.identified_on for m in milestones)
            assert all(m.overdue_on >= m.due_on for m in milestones)
        first = session.scalars(select(EventRecord).order_by(EventRecord.id)).first()
        assert first is not None and isinstance(first.occurred_on, dt.date)


def test_migration_0005_converts_text_days_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute("INSERT INTO patients (id, mrn, birth_date, created_at) VALUES "
                 "(1, 'M1', '1931-02-28', 0), (2, 'M2', NULL, 0)")
    conn.execute(
        "INSERT INTO episodes (id, patient_id, state, pathway_version, version, identified_on, "
        "levels, intake, neuro_intact, instability, cord_compression, red_flags_open, "
        "next_overdue_at, opened_at, updated_at) VALUES (1, 1, 'assessed', 1, 1, '2026-03-02', "
        "'[]', '{}', 1, 0, 0, 0, NULL, 0, 0)")
    conn.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, actor, "
                 "target_state, data) VALUES (1, 1, 'opened', '2026-03-02', 0, 'test', "
                 "'assessed', '{}')")
    conn.commit()
    conn.close()

    command.upgrade(config, "head")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        births = session.scalars(select(Patient.birth_date).order_by(Patient.id)).all()
        assert births == [dt.date(1931, 2, 28), None]
        assert session.scalars(select(Episode.identified_on)).one() == dt.date(2026, 3, 2)
        assert session.scalars(select(EventRecord.occurred_on)).one() == dt.date(2026, 3, 2)
    engine.dispose()
    conn = sqlite3.connect(tmp_path / "old.db")
    assert conn.execute("SELECT identified_on, typeof(identified_on) FROM episodes").fetchone() \
        == (20514, "integer")
    try:  # the event log is append-only again after the migration rewrote its days
        conn.execute("UPDATE events SET actor = 'someone else'")
        raise AssertionError("the event log took an update")
    except sqlite3.DatabaseError as error:
        assert "append-only" in str(error)
    conn.close()

    command.downgrade(config, "0004")
    conn = sqlite3.connect(tmp_path / "old.db")
    assert [r[0] for r in conn.execute("SELECT birth_date FROM patients ORDER BY id")] == [
        "1931-02-28", None]
    assert conn.execute("SELECT occurred_on FROM events").fetchone()[0] == "2026-03-02"
    conn.close()


def test_sqlite_refuses_a_date_bound_without_its_column_type(tmp_path: Path) -> None:
    """Untyped, the driver would store text, which sorts above every stored day number; the
    process refuses it instead (`pathway.store.db`)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (on_day DATE)")
    with engine.begin() as conn, pytest.raises(Exception, match="without its column's type"):
        conn.execute(text("INSERT INTO t (on_day) VALUES (:d)"), {"d": dt.date(2026, 3, 2)})
    with engine.begin() as conn:  # typed, it is stored as an integer
        conn.execute(text("INSERT INTO t (on_day) VALUES (:d)").bindparams(
            bindparam("d", type_=Day())), {"d": dt.date(2026, 3, 2)})
        assert conn.exec_driver_sql("SELECT on_day, typeof(on_day) FROM t").one() == (
            20514, "integer")
    engine.dispose()
