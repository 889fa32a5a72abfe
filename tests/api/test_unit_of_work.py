"""`api.units`: the request's transaction ends however the request ends (the endpoint's run
commits or rolls back; a request refused before its endpoint ran is rolled back by its route,
even when cancelled), and a GET's session is a reader."""

from __future__ import annotations

import datetime as dt
import inspect
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from sqlalchemy import select, text
from starlette.requests import Request

from api.units import Unit, in_one_transaction, roll_back_unended, unit_of_work
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import writer_queue
from pathway.store.models import Patient
from tests.api.support import ApiHarness, intake
from tests.support.databases import TestDatabase


def request_for(db: TestDatabase, method: str) -> Request:
    runtime = Runtime(settings=Settings(database_url=db.url), engine=db.engine,
                      sessions=db.sessions)
    app: Any = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    return Request({"type": "http", "method": method, "path": "/", "headers": [], "app": app,
                    "state": {}})


def count_patients(db: TestDatabase) -> int:
    with db.sessions() as session:
        return int(session.scalar(text("SELECT count(*) FROM patients")) or 0)


def test_a_refused_request_rolls_back_and_gives_the_write_turn_back_even_when_cancelled(
        db: TestDatabase) -> None:
    async def scenario() -> None:
        request = request_for(db, "POST")
        unit = await unit_of_work(request)
        unit.session.add(Patient(mrn="CANCELLED-1", created_at=unit.now))
        unit.session.flush()  # the write transaction is open (on SQLite: the write turn held)
        queue = writer_queue(db.engine)
        assert queue is None or queue.busy
        with anyio.CancelScope() as scope:
            scope.cancel()  # the client hung up: the rollback is shielded and still happens
            await roll_back_unended(request)
        assert unit.ended and unit.session.get_transaction() is None
        assert queue is None or not queue.busy

    anyio.run(scenario)
    assert count_patients(db) == 0
    with db.sessions.begin() as session:  # the database takes writers again at once
        session.add(Patient(mrn="AFTER-1", created_at=dt.datetime.now(dt.UTC)))
    assert count_patients(db) == 1


def test_a_get_reads_without_taking_the_write_turn(db: TestDatabase) -> None:
    async def scenario() -> None:
        request = request_for(db, "GET")
        unit = await unit_of_work(request)
        assert unit.session.scalar(text("SELECT count(*) FROM patients")) == 0
        queue = writer_queue(db.engine)
        assert queue is None or not queue.busy
        await roll_back_unended(request)
        assert unit.ended

    anyio.run(scenario)


def test_the_endpoints_run_commits_or_rolls_back_and_ends_the_unit_once(
        db: TestDatabase) -> None:
    """`in_one_transaction` ends the unit inside the endpoint's call (so no thread hop after
    it); the route's handler then has nothing to end. An endpoint that raises rolls back."""

    def endpoint(unit: Unit, mrn: str, fail: bool = False) -> str:
        unit.session.add(Patient(mrn=mrn, created_at=unit.now))
        unit.session.flush()
        if fail:
            raise ValueError("refused")
        return mrn

    wrapped = in_one_transaction(endpoint)
    assert inspect.signature(wrapped) == inspect.signature(endpoint)  # what FastAPI reads

    async def scenario(mrn: str, fail: bool) -> None:
        request = request_for(db, "POST")
        unit = await unit_of_work(request)
        if fail:
            with pytest.raises(ValueError):
                wrapped(unit=unit, mrn=mrn, fail=fail)
        else:
            assert wrapped(unit=unit, mrn=mrn) == mrn
        assert unit.ended and unit.session.get_transaction() is None
        await roll_back_unended(request)  # nothing left to do

    anyio.run(scenario, "KEPT-1", False)
    anyio.run(scenario, "DROPPED-1", True)
    with db.sessions() as session:
        assert list(session.scalars(select(Patient.mrn))) == ["KEPT-1"]

    async def coroutine(unit: Unit) -> None:
        return None

    with pytest.raises(TypeError, match="plain functions"):
        in_one_transaction(coroutine)


def test_requests_refused_before_their_endpoint_leave_no_connection_checked_out(
        api: ApiHarness) -> None:
    """Each refusal has opened the unit's transaction (the key lookup) before the endpoint:
    the route rolls it back. A checked-out connection left behind would show in the pool."""
    pool: Any = api.db.engine.pool
    before = pool.checkedout()
    good = intake()
    refusals = [
        api.client.post("/v1/episodes", json=good, headers={"Authorization": "Bearer nope"}),
        api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "event_names": ["*"]},
                        headers=api.auth("coordinator")),
        api.client.post("/v1/episodes", json={**good, "identified_on": "soon"},
                        headers=api.auth("integration")),
        api.client.get("/v1/episodes/1", headers=api.auth("integration")),
    ]
    assert [r.status_code for r in refusals] == [401, 403, 422, 404]
    assert pool.checkedout() == before
    first = api.client.post("/v1/episodes", json=good, headers=api.auth("integration"))
    assert first.status_code == 201, first.text  # nothing of the refusals was kept
    assert pool.checkedout() == before
    again = api.client.post("/v1/episodes", json=good, headers=api.auth("integration"))
    assert again.status_code == 409, again.text  # the first was committed: a duplicate
    assert pool.checkedout() == before
