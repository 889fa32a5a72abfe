"""`api.units.unit_of_work`: the request's transaction ends however the request ends, even
when the request is cancelled (a client hanging up), and a GET's session is a reader."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from sqlalchemy import text
from starlette.requests import Request

from api.units import unit_of_work
from pathway.db import writer_queue
from pathway.models import Patient
from pathway.runtime import Runtime
from pathway.settings import Settings
from tests.support.databases import TestDatabase


def request_for(db: TestDatabase, method: str) -> Request:
    runtime = Runtime(settings=Settings(database_url=db.url), engine=db.engine,
                      sessions=db.sessions)
    app: Any = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    return Request({"type": "http", "method": method, "path": "/", "headers": [], "app": app})


def count_patients(db: TestDatabase) -> int:
    with db.sessions() as session:
        return int(session.scalar(text("SELECT count(*) FROM patients")) or 0)


def test_a_cancelled_request_rolls_back_and_gives_the_write_turn_back(db: TestDatabase) -> None:
    async def scenario() -> None:
        units = unit_of_work(request_for(db, "POST"))
        unit = await units.__anext__()
        unit.session.add(Patient(mrn="CANCELLED-1", created_at=unit.now))
        unit.session.flush()  # the write transaction is open (on SQLite: the write turn held)
        queue = writer_queue(db.engine)
        assert queue is None or queue.busy
        with pytest.raises(anyio.get_cancelled_exc_class()):
            await units.athrow(anyio.get_cancelled_exc_class()())
        assert queue is None or not queue.busy
        assert unit.session.get_transaction() is None  # closed

    anyio.run(scenario)
    assert count_patients(db) == 0
    with db.sessions.begin() as session:  # the database takes writers again at once
        session.add(Patient(mrn="AFTER-1", created_at=dt.datetime.now(dt.UTC)))
    assert count_patients(db) == 1


def test_a_finished_request_commits(db: TestDatabase) -> None:
    async def scenario() -> None:
        units = unit_of_work(request_for(db, "POST"))
        unit = await units.__anext__()
        unit.session.add(Patient(mrn="DONE-1", created_at=unit.now))
        with pytest.raises(StopAsyncIteration):
            await units.__anext__()

    anyio.run(scenario)
    assert count_patients(db) == 1


def test_a_get_reads_without_taking_the_write_turn(db: TestDatabase) -> None:
    async def scenario() -> None:
        units = unit_of_work(request_for(db, "GET"))
        unit = await units.__anext__()
        assert unit.session.scalar(text("SELECT count(*) FROM patients")) == 0
        queue = writer_queue(db.engine)
        assert queue is None or not queue.busy
        with pytest.raises(StopAsyncIteration):
            await units.__anext__()

    anyio.run(scenario)
