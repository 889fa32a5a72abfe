"""Statements built once, compiled once per database, run on the driver's cursor of the
session's own connection.

Through `Connection.execute` each small statement costs about 40 microseconds of Python
here, against about 7 on the driver's cursor (even `exec_driver_sql` costs 35), and a step of
the pathway sends five or six of them. So the transition path keeps SQLAlchemy's
compilation and type processing and skips its execution machinery, through public API only:

- a statement is compiled once per dialect (`ClauseElement.compile`), with its bind names in
  order and each type's `bind_processor` (dates, UTC instants, JSON, booleans);
- it runs on `Connection.connection.dbapi_connection`, the DBAPI connection of the session's
  transaction, so it commits or rolls back with everything else;
- `before_cursor_execute` listeners see every statement (the benchmarks count them);
- driver errors are raised as SQLAlchemy's (`DBAPIError.instance`: `IntegrityError`,
  `OperationalError`, ...) with parameters hidden, and a lost connection is invalidated.

Rows come back as tuples, processed by each column type's `result_processor`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect, Select

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Compiled:
    """One statement's SQL for one dialect, its bind names and their processors."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Processor, ...]
    positional: bool
    #: Values the statement carries itself (`literal`, `limit`), used unless given.
    defaults: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters: processed, in order (qmark) or by name (pyformat)."""
        given = {**self.defaults, **values} if self.defaults else values
        processed = [value if proc is None or value is None else proc(value)
                     for proc, value in zip(self.processors,
                                            (given[n] for n in self.names), strict=True)]
        if self.positional:
            return tuple(processed)
        return dict(zip(self.names, processed, strict=True))


@functools.cache
def compiled(statement: ClauseElement, dialect: Dialect) -> Compiled:
    """Compile `statement` for `dialect` once (statements and dialects live as long as the
    process: one entry per statement per kind of database)."""
    result = statement.compile(dialect=dialect)
    assert isinstance(result, SQLCompiler)
    if result.positional:
        names = tuple(result.positiontup or ())
    else:
        names = tuple(dict.fromkeys(result.bind_names.values()))
    if not set(names) <= set(result.binds) or result.literal_execute_params or (
            result.post_compile_params):
        raise TypeError("only plain bound parameters are supported: " + result.string)
    processors = tuple(result.binds[n].type.bind_processor(dialect) for n in names)
    defaults = {n: result.binds[n].value for n in names if not result.binds[n].required}
    return Compiled(result.string, names, processors, bool(result.positional), defaults)


_CONNECTION = "pathway.store.connection"


def connection(session: Session) -> Connection:
    """The connection of the session's transaction. `Session.connection()` costs about as much
    as running a statement here, so it is asked once per transaction and kept in `info`."""
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if transaction is not None and kept is not None and kept[0] is transaction and (
            transaction.is_active):
        return kept[1]  # type: ignore[no-any-return]
    found = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), found)
    return found


def _cursor(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """Execute `statement` in the session's transaction; the DBAPI cursor (fetch, close)."""
    if session.new or session.dirty or session.deleted:  # as a query would: ORM changes first
        session.flush()
    conn = connection(session)
    dialect = conn.dialect
    plan = compiled(statement, dialect)
    parameters = plan.parameters(values)
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        conn.dispatch.before_cursor_execute(conn, cursor, plan.sql, parameters, None, False)
        cursor.execute(plan.sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise _wrapped(conn, plan.sql, parameters, error, cursor) from error
    return cursor


def rowcount(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Execute a statement that returns no rows; how many rows it changed."""
    cursor = _cursor(session, statement, values)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def raw_rows(session: Session, statement: ClauseElement,
             values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Execute a statement that returns rows; its rows, unprocessed."""
    cursor = _cursor(session, statement, values)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def scalar(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """The first column of the first row (None without rows), unprocessed: for integers and
    strings only."""
    found = raw_rows(session, statement, values)
    return found[0][0] if found else None


def inserted_id(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Execute an INSERT ... RETURNING id of one row; the id."""
    (row,) = raw_rows(session, statement, values)
    return int(row[0])


@functools.cache
def result_processors(statement: Select[Any] | CompoundSelect[Any],
                      dialect: Dialect) -> tuple[Processor, ...]:
    """Each selected column's result processor for `dialect` (None: the value as it comes)."""
    return _result_processors(statement, dialect)


def processed(processors: Sequence[Processor], values: Sequence[Any]) -> list[Any]:
    """`values` through their processors."""
    return [value if proc is None or value is None else proc(value)
            for proc, value in zip(processors, values, strict=True)]


@functools.cache
def _result_processors(statement: Select[Any] | CompoundSelect[Any],
                       dialect: Dialect) -> tuple[Processor, ...]:
    columns: Sequence[ColumnElement[Any]] = list(statement.selected_columns)
    return tuple(c.type.result_processor(dialect, None) for c in columns)


def rows(session: Session, statement: Select[Any],
         values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Execute a SELECT; its rows with each column's type processing applied."""
    processors = _result_processors(statement, session.get_bind().dialect)
    return [tuple(value if proc is None or value is None else proc(value)
                  for proc, value in zip(processors, row, strict=True))
            for row in raw_rows(session, statement, values)]


def _wrapped(conn: Connection, sql: str, parameters: Any, error: Any,
             cursor: Any) -> exc.StatementError:
    """The driver's error as SQLAlchemy's, invalidating the connection if it was lost."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(error)
    wrapped: exc.StatementError = exc.DBAPIError.instance(
        sql, parameters, error, dialect.loaded_dbapi.Error, hide_parameters=True,
        connection_invalidated=lost, dialect=dialect)
    return wrapped
