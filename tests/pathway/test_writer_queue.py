"""SQLite writers of one process take turns (`pathway.store.db.WriterQueue`): every concurrent write
lands, failures give the turn back, readers never take it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from pathway.store.db import read_only, transaction, writer_queue
from pathway.store.models import Episode
from tests.builders import open_at
from tests.support.databases import TestDatabase


@pytest.fixture
def sqlite(sqlite_db: TestDatabase) -> TestDatabase:
    return sqlite_db


def test_concurrent_writers_all_land_and_leave_the_turn_free(sqlite: TestDatabase) -> None:
    queue = writer_queue(sqlite.engine)
    assert queue is not None and not queue.busy
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(15):
                with transaction(sqlite.sessions) as session:
                    open_at(session, patient={"mrn": f"W{index}-{n}"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with sqlite.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Episode)) == 90
    assert not queue.busy


def test_a_failed_writer_and_a_reader_leave_the_turn_free(sqlite: TestDatabase) -> None:
    queue = writer_queue(sqlite.engine)
    assert queue is not None
    with pytest.raises(ZeroDivisionError), transaction(sqlite.sessions) as session:
        open_at(session, patient={"mrn": "ROLLED-BACK"})
        assert queue.busy  # the writer holds the turn until it ends
        _ = 1 / 0
    assert not queue.busy
    with sqlite.sessions() as session:
        read_only(session)
        assert session.scalar(select(func.count()).select_from(Episode)) == 0
        assert not queue.busy  # a reader begins deferred and never waits for the turn
    with transaction(sqlite.sessions) as session:
        open_at(session, patient={"mrn": "AFTER"})
    assert not queue.busy


def test_postgresql_engines_have_no_queue(pg_db: TestDatabase) -> None:
    assert writer_queue(pg_db.engine) is None
