"""`pathway.direct`: statements on the driver's cursor write and read exactly what the ORM
would, fail as SQLAlchemy would, and stay visible to statement listeners."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.exc import IntegrityError

from pathway import direct, rows
from pathway.db import transaction
from pathway.episodes import get_episode
from pathway.models import Episode, Milestone, Patient
from tests.support.databases import TestDatabase

T0 = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
ROW_OF_PATIENT = select(*Patient.__table__.columns).where(Patient.mrn == bindparam("mrn"))
ROW_OF_EPISODE = select(*Episode.__table__.columns).where(Episode.id == bindparam("id"))
ROW_WITH_PATIENT = (select(*Episode.__table__.columns, *Patient.__table__.columns)
                    .join_from(Episode, Patient).where(Episode.id == bindparam("id")))
ROWS_OF_EPISODE = select(*Milestone.__table__.columns).where(
    Milestone.episode_id == bindparam("episode_id")).order_by(Milestone.id)


def columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}


def add_episode(db: TestDatabase, mrn: str = "MRN-1") -> int:
    """A patient, an episode with JSON, booleans and NULLs, and two milestones, all written
    through `rows` (so on the driver's cursor)."""
    with transaction(db.sessions) as session:
        patient = rows.insert_one(session, Patient(mrn=mrn, name="Ann Example",
                                                   birth_date=dt.date(1941, 2, 3), created_at=T0))
        episode = rows.insert_one(session, Episode(
            patient_id=patient.id, state="assessed", pathway_version=1, version=1,
            identified_on=dt.date(2026, 3, 1), coordinator=None, levels=["T12", "L1"],
            intake={"pain_score": 7, "red_flags": [], "note": "é ü"}, neuro_intact=True,
            instability=False, cord_compression=False, red_flags_open=False,
            next_overdue_at=None, next_milestone=None, opened_at=T0, updated_at=T0,
            closed_at=None))
        for kind, days in (("plan_decision", 1), ("reassessment", 42)):
            rows.insert_one(session, rows.build(  # built without attribute events
                Milestone, episode_id=episode.id, kind=kind, status="open",
                anchor_on=dt.date(2026, 3, 1),
                due_on=dt.date(2026, 3, 1) + dt.timedelta(days=days),
                overdue_on=dt.date(2026, 3, 2) + dt.timedelta(days=days),
                due_at=T0 + dt.timedelta(days=days), overdue_at=T0 + dt.timedelta(days=days + 1),
                next_alert_at=T0 + dt.timedelta(days=days), next_alert_kind=f"{kind}_due",
                created_at=T0, met_on=None, closed_at=None))
        return episode.id


def test_rows_written_on_the_cursor_read_back_through_the_orm(db: TestDatabase) -> None:
    episode_id = add_episode(db)
    with db.sessions() as session:
        episode = session.get(Episode, episode_id)
        assert episode is not None
        assert episode.levels == ["T12", "L1"]
        assert episode.intake == {"pain_score": 7, "red_flags": [], "note": "é ü"}
        assert episode.neuro_intact is True and episode.instability is False
        assert episode.opened_at == T0 and episode.opened_at.tzinfo is not None
        assert episode.closed_at is None and episode.coordinator is None
        assert episode.patient.birth_date == dt.date(1941, 2, 3)
        due = session.scalars(select(Milestone).where(Milestone.episode_id == episode_id)
                              .order_by(Milestone.id)).all()
        assert [m.due_on for m in due] == [dt.date(2026, 3, 2), dt.date(2026, 4, 12)]
        assert due[1].overdue_at == T0 + dt.timedelta(days=43)


def test_load_gives_what_the_orm_loads(db: TestDatabase) -> None:
    episode_id = add_episode(db)
    with db.sessions() as session:
        expected = [columns(m) for m in session.scalars(
            select(Milestone).where(Milestone.episode_id == episode_id).order_by(Milestone.id))]
    with db.sessions() as session:
        loaded = direct.load(session, Milestone, ROWS_OF_EPISODE, {"episode_id": episode_id})
        assert [columns(m) for m in loaded] == expected
        # They are the session's objects: a change is flushed like any loaded object's.
        loaded[0].status = "met"
        session.commit()
    with db.sessions() as session:
        assert session.get(Milestone, expected[0]["id"]).status == "met"  # type: ignore[union-attr]


def test_load_returns_the_object_the_session_already_holds(db: TestDatabase) -> None:
    add_episode(db)
    with db.sessions() as session:
        held = session.scalars(select(Patient)).one()
        held.name = "changed, not flushed"
        again = direct.load(session, Patient, ROW_OF_PATIENT, {"mrn": "MRN-1"})
        assert again == [held] and again[0].name == "changed, not flushed"


def test_driver_errors_are_sqlalchemy_errors_without_values(db: TestDatabase) -> None:
    add_episode(db, mrn="SECRET-MRN-77")
    with pytest.raises(IntegrityError) as raised, transaction(db.sessions) as session:
        rows.insert_one(session, Patient(mrn="SECRET-MRN-77", name=None, birth_date=None,
                                         created_at=T0))
    # The bound values are hidden as `make_engine` asks (PostgreSQL's own DETAIL line may
    # still quote a key, which is why logs carry error class names only).
    assert "SQL parameters hidden" in str(raised.value)
    assert "INSERT INTO patients" in str(raised.value)
    # The failed transaction left nothing behind and the pool's connection is still usable.
    with transaction(db.sessions) as session:
        assert direct.scalar(session, select(Patient.id).where(Patient.mrn == bindparam("m")),
                             {"m": "SECRET-MRN-77"}) is not None
        assert len(session.scalars(select(Patient)).all()) == 1


def test_statement_listeners_see_cursor_statements(db: TestDatabase) -> None:
    seen: list[str] = []

    def capture(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        add_episode(db)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    inserts = [s.split("(")[0].strip() for s in seen if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO patients", "INSERT INTO episodes",
                       "INSERT INTO milestones", "INSERT INTO milestones"]


def test_statements_needing_rendering_at_run_time_are_refused(db: TestDatabase) -> None:
    query = select(Patient.id).where(Patient.id.in_(bindparam("ids", expanding=True)))
    with db.sessions() as session, pytest.raises(TypeError, match="plain bound parameters"):
        direct.scalar(session, query, {"ids": [1, 2]})


def test_loaded_and_inserted_objects_are_persistent_clean_and_lazy_load(db: TestDatabase) -> None:
    """`direct.attach` makes rows the session's objects as the ORM's loader would: persistent,
    nothing to flush, found by `Session.get` without SQL, relationships loading on first use,
    and changes made through the ORM afterwards still flushed."""
    episode_id = add_episode(db)
    statements: list[str] = []
    with transaction(db.sessions) as session:
        (milestone, _) = direct.load(session, Milestone, ROWS_OF_EPISODE,
                                     {"episode_id": episode_id})
        state = inspect(milestone)
        assert state.persistent and not state.modified and not session.dirty
        assert not session.new
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        assert session.get(Milestone, milestone.id) is milestone and statements == []
        (episode,) = direct.load(session, Episode, ROW_OF_EPISODE, {"id": episode_id})
        assert len(statements) == 1 and "patient" not in episode.__dict__
        assert episode.patient.mrn == "MRN-1"  # a relationship: one SELECT on first use
        assert len(statements) == 2
        milestone.status = "met"  # an ORM change is tracked and flushed as usual
        assert list(session.dirty) == [milestone]
    with db.sessions() as session:
        assert session.get(Milestone, milestone.id).status == "met"  # type: ignore[union-attr]


def test_attach_refuses_an_object_the_session_already_holds(db: TestDatabase) -> None:
    episode_id = add_episode(db)
    with db.sessions() as session:
        (milestone, _) = direct.load(session, Milestone, ROWS_OF_EPISODE,
                                     {"episode_id": episode_id})
        with pytest.raises(ValueError, match="not a new object"):
            direct.attach(session, milestone)
        twin = rows.build(Milestone, **columns(milestone))
        with pytest.raises(ValueError, match="already holds"):
            direct.attach(session, twin)


def test_a_fresh_process_can_load_before_any_orm_query(tmp_path: Path) -> None:
    """The first thing a new API process does is read an API key on the cursor: the mappers
    must be set up by then, without an ORM query having done it."""
    script = (
        "import datetime as dt\n"
        "from sqlalchemy import select\n"
        "from pathway import direct, rows\n"
        "from pathway.db import make_engine, make_sessionmaker, transaction\n"
        "from pathway.models import ApiKey, Base\n"
        f"engine = make_engine('sqlite:///{tmp_path / 'fresh.db'}')\n"
        "Base.metadata.create_all(engine)\n"
        "with transaction(make_sessionmaker(engine)) as session:\n"
        "    rows.insert_one(session, rows.build(ApiKey, name='k', key_hash='h', prefix='p',\n"
        "                    role='admin', created_at=dt.datetime.now(dt.UTC)))\n"
        "    (key,) = direct.load(session, ApiKey, select(*ApiKey.__table__.columns), {})\n"
        "    print(key.name, key.role)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["k", "admin"]


def test_an_episode_and_its_patient_are_read_in_one_statement(db: TestDatabase) -> None:
    episode_id = add_episode(db)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with transaction(db.sessions) as session:
        episode = get_episode(session, episode_id)
        assert len([s for s in statements if "SELECT" in s]) == 1
        assert "patient" in episode.__dict__ and episode.patient.mrn == "MRN-1"
        assert session.get(Patient, episode.patient_id) is episode.patient
        assert episode.levels == ["T12", "L1"] and episode.patient.name == "Ann Example"
        pairs = direct.load_pairs(session, Episode, Patient, ROW_WITH_PATIENT,
                                  {"id": episode_id})
        assert pairs == [(episode, episode.patient)]  # the objects the session holds
