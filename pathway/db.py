"""Engines and sessions for SQLite (embedded default, WAL) and PostgreSQL, one code path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from the driver (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


#: Execution options of a connection that only reads (see `read_only`).
READ_ONLY: dict[str, Any] = {"pathway_read_only": True}


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between (the busy timeout cannot help); taking the
    # write lock at BEGIN makes concurrent writers in one process wait their turn instead.
    # A read-only transaction (a dashboard page) begins deferred: under WAL it never blocks
    # or waits for a writer.
    if connection.get_execution_options().get("pathway_read_only"):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(session: Session) -> Session:
    """Mark a fresh session as a reader: on SQLite its transaction does not take the write
    lock (call before its first query; the mark lasts until its transaction ends)."""
    session.connection(execution_options=READ_ONLY)
    return session


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas or pool settings each database needs."""
    # Errors must not carry bound values (MRNs, names) into logs.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
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
