"""Engines and sessions for SQLite (embedded default, WAL) and PostgreSQL, one code path."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return url.startswith("sqlite")


def _refuse_untyped_instant(value: dt.datetime) -> Any:
    raise TypeError(
        "a datetime reached SQLite without its column's type: bind it with the column's type "
        "(e.g. `literal(value, Column.type)`) so it is stored as the column stores instants")


def _refuse_untyped_day(value: dt.date) -> Any:
    raise TypeError(
        "a date reached SQLite without its column's type: bind it with the column's type "
        "(e.g. `literal(value, Column.type)`) so it is stored as the column stores days")


# SQLite keeps instants and days as integers (`pathway.store.column_types`). A datetime
# or date bound without a column type would reach the driver, whose default adapter writes
# text, and text compares above every integer: rows would silently drop out of (or into) a
# query. Refuse it instead.
sqlite3.register_adapter(dt.datetime, _refuse_untyped_instant)
sqlite3.register_adapter(dt.date, _refuse_untyped_day)


#: How long a SQLite writer waits for the write lock before "database is locked".
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from the driver (see WriterQueue).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


#: Execution options of a connection that only reads (see `read_only`).
READ_ONLY: dict[str, Any] = {"pathway_read_only": True}


class WriterQueue:
    """Writers of one SQLite engine take turns in this process before `BEGIN IMMEDIATE`.

    SQLite has one writer at a time. Left to SQLite, a thread that finds the write lock taken
    sleeps in its busy handler (1, 2, 5, 10 ... 100 ms) and retries, so under a burst of
    concurrent requests most of the time goes to sleeping and the slowest requests wait
    hundreds of milliseconds for a lock that was free long before (BENCHMARKS.md, workload 3).
    Here a waiting writer wakes as soon as the previous one commits or rolls back. Writers in
    other processes still meet at SQLite's lock, with the busy timeout. A writer that cannot
    get its turn within `timeout` goes on to SQLite's lock anyway (as before this queue).
    """

    KEY = "pathway_write_turn"

    def __init__(self, timeout: float) -> None:
        self._turn = threading.Lock()
        self._timeout = timeout

    @property
    def busy(self) -> bool:
        """Whether a writer of this process holds the turn now."""
        return self._turn.locked()

    def begin(self, connection: Any) -> None:
        if connection.get_execution_options().get("pathway_read_only"):
            connection.exec_driver_sql("BEGIN")
            return
        if self._turn.acquire(timeout=self._timeout):
            connection.info[self.KEY] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if connection.info.pop(self.KEY, False):
                self._turn.release()
            raise

    def commit(self, connection: Any) -> None:
        """Before SQLAlchemy's COMMIT (the event comes first): commit here, then give the turn
        away, so the next writer finds the lock free (SQLAlchemy's own COMMIT then has nothing
        left to do: the driver skips it outside a transaction)."""
        self._finish(connection, "commit")

    def rollback(self, connection: Any) -> None:
        """As `commit`, for a ROLLBACK."""
        self._finish(connection, "rollback")

    def _finish(self, connection: Any, how: str) -> None:
        if not connection.info.get(self.KEY):
            return
        try:
            getattr(connection.connection.dbapi_connection, how)()
        finally:  # any thread may end what another began: a Lock, not an RLock
            connection.info.pop(self.KEY, None)
            self._turn.release()


_queues: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The writers' queue of a SQLite engine made by `make_engine` (None for PostgreSQL)."""
    return _queues.get(engine)


#: Rows SQLite's ANALYZE samples per index: statistics in milliseconds even at a million
#: episodes, close enough for the planner to choose indexes.
ANALYSIS_LIMIT = 1000


def refresh_statistics(engine: Engine) -> None:
    """Give SQLite's planner table statistics (sampled ANALYZE). Without them it guesses, and
    guesses a full scan of the milestones for a report over a few weeks (tests/pathway/
    test_kpi_plans.py). PostgreSQL's autovacuum keeps its own, so nothing is done there."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")


def read_only(session: Session) -> Session:
    """Mark a fresh session as a reader: on SQLite its transaction does not take the write
    lock (call before its first query; the mark lasts until its transaction ends)."""
    session.connection(execution_options=READ_ONLY)
    return session


_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def reader_bind(engine: Engine) -> Engine:
    """`engine` with the reader's mark (see `read_only`), sharing its pool: bind a session to
    it to make a reader without connecting yet (so it can be made on an event loop)."""
    found = _readers.get(engine)
    if found is None:
        found = _readers[engine] = engine.execution_options(**READ_ONLY)
    return found


def compact_json(value: Any) -> str:
    """JSON columns' text: no spaces after separators, non-ASCII characters as themselves
    (the default form spends a byte on every separator and six on an accented letter)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas or pool settings each database needs."""
    # Errors must not carry bound values (MRNs, names) into logs.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", compact_json)
    if is_sqlite(url):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer committed in between (the busy timeout cannot help);
        # taking the write lock at BEGIN makes concurrent writers wait their turn instead.
        # A read-only transaction (a dashboard page) begins deferred: under WAL it never
        # blocks or waits for a writer.
        writers = _queues[engine] = WriterQueue(timeout=BUSY_TIMEOUT_MS / 1000)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.commit)
        event.listen(engine, "rollback", writers.rollback)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success, roll back on error: what every edge uses."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
