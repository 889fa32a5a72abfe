"""`api.units.unit_of_work`: the request's transaction ends however the request ends, even
when the request is cancelled (a client hanging up), and a GET's session is a reader."""

from __future__ import annotations

import datetime as dt
import inspect
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from sqlalchemy import select, text
from starlette.requests import Request

from api.units import FINISHED, Unit, finishing, unit_of_work
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


def test_a_plain_endpoint_commits_in_its_own_thread_and_the_dependency_leaves_it(
        db: TestDatabase) -> None:
    """`finishing` ends the unit inside the endpoint's call (so no thread hop after it); the
    dependency's exit then has nothing to do. An endpoint that raises rolls back."""

    def endpoint(unit: Unit, mrn: str, fail: bool = False) -> str:
        unit.session.add(Patient(mrn=mrn, created_at=unit.now))
        unit.session.flush()
        if fail:
            raise ValueError("refused")
        return mrn

    wrapped = finishing(endpoint)
    assert inspect.signature(wrapped) == inspect.signature(endpoint)  # what FastAPI reads

    async def scenario(mrn: str, fail: bool) -> None:
        units = unit_of_work(request_for(db, "POST"))
        unit = await units.__anext__()
        try:
            wrapped(unit=unit, mrn=mrn, fail=fail)
        except ValueError as error:
            assert unit.session.info[FINISHED]
            with pytest.raises(ValueError):
                await units.athrow(error)
            return
        assert unit.session.info[FINISHED] and unit.session.get_transaction() is None
        with pytest.raises(StopAsyncIteration):
            await units.__anext__()

    anyio.run(scenario, "KEPT-1", False)
    anyio.run(scenario, "DROPPED-1", True)
    with db.sessions() as session:
        assert list(session.scalars(select(Patient.mrn))) == ["KEPT-1"]

    async def coroutine(unit: Unit) -> None:
        return None

    assert finishing(coroutine) is coroutine  # runs on the event loop: left alone
