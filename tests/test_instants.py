"""Timestamps on SQLite are integer microseconds since 1970 UTC (`column_types.UTCDateTime`):
every writer stores that form, every reader gets aware UTC datetimes back, and migration 0003
converts a database written in the old text form (and back) without losing a microsecond."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import bindparam, select, text

from pathway import access
from pathway.deliveries import lease_due
from pathway.escalation import escalate_due
from pathway.reminder_actions import acknowledge, snooze
from pathway.scan import raise_all_due
from pathway.store.db import make_engine, make_sessionmaker, transaction
from pathway.store.models import (
    EPOCH,
    Base,
    EventRecord,
    Patient,
    Reminder,
    UTCDateTime,
    from_epoch_micros,
    to_epoch_micros,
)
from pathway.synthetic.demo import make_demo
from pathway.webhooks import create_subscription
from pathway_cli.schema import alembic_config
from tests.support.databases import TestDatabase

ZONE = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


def instant_columns() -> dict[str, list[str]]:
    return {table.name: [c.name for c in table.columns if isinstance(c.type, UTCDateTime)]
            for table in Base.metadata.sorted_tables
            if any(isinstance(c.type, UTCDateTime) for c in table.columns)}


def test_epoch_micros_round_trip_exactly() -> None:
    for value in (EPOCH, NOW, dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
                  dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZONE)):
        assert from_epoch_micros(to_epoch_micros(value)) == value
    assert to_epoch_micros(NOW) == 1780306215123456
    assert to_epoch_micros(dt.datetime(2026, 6, 1, 10, 30, 15, 123456,
                                       tzinfo=ZoneInfo("Europe/London"))) == 1780306215123456


def test_every_writer_stores_integers_on_sqlite(db: TestDatabase) -> None:
    """Episodes, events, milestones, reminders and their history, escalations, snoozes,
    deliveries and leases, keys and users: no timestamp column holds text afterwards, and
    times read back as written (on PostgreSQL: native timestamps, read back the same)."""
    with transaction(db.sessions) as session:
        create_subscription(session, url="https://example.org/hook", reminder_kinds=[],
                            event_names=["start_conservative_care"], actor="test", now=NOW)
        key, _ = access.create_api_key(session, name="k", role="admin", now=NOW)
        access.revoke_api_key(session, name="k", now=NOW + dt.timedelta(seconds=1))
        access.create_user(session, username="u1", password="a long password 1", role="coordinator",
                           now=NOW)
        make_demo(session, episodes=30, now=NOW, zone=ZONE)
    later = NOW + dt.timedelta(days=20)
    with transaction(db.sessions) as session:
        raise_all_due(session, now=later)
        escalate_due(session, now=later + dt.timedelta(days=10), lead_email=None)
        lease_due(session, now=later, worker="w", limit=10, lease_seconds=30)
        reminders = list(session.scalars(select(Reminder).where(Reminder.status == "open")))
        assert len(reminders) >= 2
        acknowledge(session, reminder_id=reminders[0].id, actor="test", now=later)
        snooze(session, reminder_id=reminders[1].id, until=(later + dt.timedelta(days=3)).date(),
               reason="on leave", actor="test", now=later, zone=ZONE)
    if db.backend == "sqlite":
        conn = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        for table, columns in instant_columns().items():
            for column in columns:
                kinds = {k for (k,) in conn.execute(
                    f"SELECT DISTINCT typeof({column}) FROM {table}")}
                assert kinds <= {"integer", "null"}, (table, column, kinds)
        conn.close()
    with db.sessions() as session:
        patient = session.scalars(select(Patient).order_by(Patient.id)).first()
        assert patient is not None and patient.created_at == NOW
        recorded = set(session.scalars(select(EventRecord.recorded_at)))
        assert recorded == {NOW}
        assert session.scalar(select(Reminder.acknowledged_at).where(
            Reminder.id == reminders[0].id)) == later


def test_migration_0003_converts_text_timestamps_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0002")
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute("INSERT INTO patients (id, mrn, created_at) VALUES "
                 "(1, 'M1', '2026-03-02 09:00:00.123456'), (2, 'M2', '2026-03-02 09:00:00')")
    conn.execute(
        "INSERT INTO episodes (id, patient_id, state, pathway_version, version, identified_on, "
        "levels, intake, neuro_intact, instability, cord_compression, red_flags_open, "
        "next_overdue_at, opened_at, updated_at) VALUES (1, 1, 'assessed', 1, 1, '2026-03-02', "
        "'[]', '{}', 1, 0, 0, 0, NULL, '2026-03-02 09:00:00.123456', "
        "'2026-03-31 23:59:59.999999')")
    conn.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, actor, "
                 "target_state, data) VALUES (1, 1, 'opened', '2026-03-02', "
                 "'2026-03-02 09:00:00.123456', 'test', 'assessed', '{}')")
    conn.commit()
    conn.close()

    command.upgrade(config, "head")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        patients = session.scalars(select(Patient).order_by(Patient.id)).all()
        assert [p.created_at for p in patients] == [
            dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)]
        event = session.scalars(select(EventRecord)).one()
        assert event.recorded_at == dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
    engine.dispose()
    conn = sqlite3.connect(tmp_path / "old.db")
    assert conn.execute("SELECT typeof(opened_at), updated_at, typeof(next_overdue_at) "
                        "FROM episodes").fetchone() == (
        "integer", to_epoch_micros(dt.datetime(2026, 3, 31, 23, 59, 59, 999999,
                                               tzinfo=dt.UTC)), "null")
    versions = {k for (k,) in conn.execute("SELECT typeof(created_at) FROM pathway_versions")}
    assert versions == {"integer"}
    try:  # the event log is append-only again after the migration rewrote its timestamps
        conn.execute("UPDATE events SET actor = 'someone else'")
        raise AssertionError("the event log took an update")
    except sqlite3.DatabaseError as error:
        assert "append-only" in str(error)
    conn.close()

    command.downgrade(config, "0002")
    conn = sqlite3.connect(tmp_path / "old.db")
    assert [r[0] for r in conn.execute("SELECT created_at FROM patients ORDER BY id")] == [
        "2026-03-02 09:00:00.123456", "2026-03-02 09:00:00.000000"]
    assert conn.execute("SELECT recorded_at FROM events").fetchone()[0] == (
        "2026-03-02 09:00:00.123456")
    conn.close()


def test_sqlite_refuses_a_datetime_bound_without_its_column_type(tmp_path: Path) -> None:
    """Untyped, the driver would store text, which sorts above every stored integer; the
    process refuses it instead (`pathway.store.db`)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (at DATETIME)")
    with engine.begin() as conn, pytest.raises(Exception, match="without its column's type"):
        conn.execute(text("INSERT INTO t (at) VALUES (:at)"), {"at": NOW})
    with engine.begin() as conn:  # typed, it is stored as an integer
        conn.execute(text("INSERT INTO t (at) VALUES (:at)").bindparams(
            bindparam("at", type_=UTCDateTime())), {"at": NOW})
        assert conn.exec_driver_sql("SELECT at, typeof(at) FROM t").one() == (
            to_epoch_micros(NOW), "integer")
    engine.dispose()
