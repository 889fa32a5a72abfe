"""Statements built once, compiled once per database, run on the driver's own cursor.

The transition path sends a handful of small statements per transaction. Through SQLAlchemy's
`Connection.execute` each costs about 80 microseconds of Python on this project's benchmark
machine, against under 10 for the same statement on the driver's cursor (BENCHMARKS.md,
workload 2). `run` keeps what the transition path needs from the long road and drops the rest:

- the statement is compiled once per dialect, with its bind names in order and each column
  type's bind processor (dates, UTC timestamps, JSON, booleans), as SQLAlchemy would apply them;
- it runs on the DBAPI connection of the session's own transaction, so it commits or rolls
  back with everything else (on SQLite, after the `BEGIN IMMEDIATE` of `pathway.db`);
- driver errors are raised as SQLAlchemy's (`IntegrityError`, `OperationalError`, ...), with
  parameters hidden, and a lost connection is invalidated, as `Connection.execute` does;
- `before_cursor_execute` listeners still see every statement (the benchmarks count them);
- pending ORM changes are flushed first, as before any query (unless autoflush is off).

`load` reads whole rows of one mapped class the same way and makes them the session's objects,
as a query would (an object the session already holds is returned as it stands, like the ORM's
identity map does), applying each column type's result processor; `scalar` returns one value
that needs no processing (a count, an id).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from pathway.models import Base

Processor = Callable[[Any], Any] | None
B = TypeVar("B", bound=Base)
C = TypeVar("C", bound=Base)


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
        processed = [value if proc is None else proc(value)
                     for proc, value in zip(self.processors,
                                            (given[n] for n in self.names), strict=True)]
        if self.positional:
            return tuple(processed)
        return dict(zip(self.names, processed, strict=True))


@functools.cache
def compiled(statement: ClauseElement, dialect: Dialect) -> Compiled:
    """Compile `statement` for `dialect` once (statements and dialects live as long as the
    process, so the cache stays small: one entry per statement per engine kind)."""
    result = statement.compile(dialect=dialect)
    assert isinstance(result, SQLCompiler)
    if result.positional:
        names = tuple(result.positiontup or ())
    else:
        names = tuple(dict.fromkeys(result.bind_names.values()))
    if not set(names) <= set(result.binds) or result.literal_execute_params or (
            result.post_compile_params):
        raise TypeError("only plain bound parameters are supported: " + result.string)
    processors = tuple(result.binds[n].type._cached_bind_processor(dialect) for n in names)
    defaults = {n: result.binds[n].value for n in names if not result.binds[n].required}
    return Compiled(result.string, names, processors, bool(result.positional), defaults)


_CONNECTION = "pathway.direct.connection"


def _connection(session: Session) -> Connection:
    """The connection of the session's transaction. `Session.connection()` costs about as much
    as running a statement here, so it is asked once per transaction and kept in `info`."""
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if transaction is not None and kept is not None and kept[0] is transaction and (
            transaction.is_active):
        return kept[1]  # type: ignore[no-any-return]
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def run(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """Execute `statement` in the session's transaction; returns the DBAPI cursor (fetch
    from it, then close it)."""
    if session.autoflush:  # as a query would: pending ORM changes first (free when none)
        session.flush()
    connection = _connection(session)
    dialect = connection.dialect
    plan = compiled(statement, dialect)
    parameters = plan.parameters(values)
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        if connection._has_events or connection.engine._has_events:
            connection.dispatch.before_cursor_execute(
                connection, cursor, plan.sql, parameters, None, False)
        cursor.execute(plan.sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise _wrapped(connection, plan.sql, parameters, error, cursor) from error
    return cursor


def rowcount(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Execute a statement that returns no rows; how many rows it changed."""
    cursor = run(session, statement, values)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def fetch_all(session: Session, statement: ClauseElement,
              values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Execute a statement that returns rows; its rows, unprocessed."""
    cursor = run(session, statement, values)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def scalar_id(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Execute an INSERT ... RETURNING id of one row; the id."""
    (row,) = fetch_all(session, statement, values)
    return int(row[0])


def scalar(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """The first column of the first row (None without rows), unprocessed: for integers and
    strings only."""
    found = fetch_all(session, statement, values)
    return found[0][0] if found else None


@dataclass(frozen=True)
class _Loader:
    keys: tuple[str, ...]
    processors: tuple[Processor, ...]


@functools.cache
def _loader(cls: type[Base], dialect: Dialect) -> _Loader:
    table = cls.__table__
    assert isinstance(table, Table)
    columns = list(table.columns)
    if [c.key for c in table.primary_key.columns] != ["id"] or columns[0].key != "id":
        raise TypeError(f"{cls.__name__}: load needs an `id` primary key as the first column")
    return _Loader(tuple(c.key for c in columns),
                   tuple(c.type._cached_result_processor(dialect, None) for c in columns))


def load(session: Session, cls: type[B], statement: ClauseElement,
         values: Mapping[str, Any]) -> list[B]:
    """Objects of `cls` from a statement that selects every column of its table, in table
    order (`select(*table.columns)`); they join the session as loaded, unless it already
    holds them."""
    dialect = session.get_bind().dialect
    return [_object(session, cls, _loader(cls, dialect), row)
            for row in fetch_all(session, statement, values)]


def load_pairs(session: Session, first: type[B], second: type[C], statement: ClauseElement,
               values: Mapping[str, Any]) -> list[tuple[B, C]]:
    """As `load`, for a statement that selects every column of `first`'s table and then every
    column of `second`'s (a join read in one statement instead of two)."""
    dialect = session.get_bind().dialect
    left, right = _loader(first, dialect), _loader(second, dialect)
    split = len(left.keys)
    return [(_object(session, first, left, row[:split]),
             _object(session, second, right, row[split:]))
            for row in fetch_all(session, statement, values)]


def _object(session: Session, cls: type[B], loader: _Loader, row: Sequence[Any]) -> B:
    """The session's object for one row: the one it holds already, else a new one."""
    known = session.identity_map.get(  # as `identity_key(cls, id)`
        (cls.__mapper__._identity_class, (row[0],), None))
    if known is not None:
        assert isinstance(known, cls)
        return known
    obj: B = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(zip(loader.keys, (
        value if proc is None or value is None else proc(value)
        for proc, value in zip(loader.processors, row, strict=True)), strict=True))
    attach(session, obj)
    return obj


def attach(session: Session, obj: Base) -> None:
    """Make `obj`, a new object holding every column of its row (an `id` among them), one of
    the session's persistent, unchanged objects: what the ORM's loader does with a row it has
    just read (`sqlalchemy.orm.loading`: identity key, session, identity map; no attribute
    history), without `make_transient_to_detached` and `Session.add` (their cascade walk and
    events cost more than the statement that read or wrote the row). Relationships not set
    load on first use, as for a queried object."""
    cls = type(obj)
    state = instance_state(obj)
    if state.key is not None or state.session_id is not None:
        raise ValueError(f"{cls.__name__} {obj.__dict__.get('id')}: not a new object")
    key = (cls.__mapper__._identity_class, (obj.__dict__["id"],), None)
    if key in session.identity_map:
        raise ValueError(f"{cls.__name__} {key[1][0]}: the session already holds this row")
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)


def _wrapped(connection: Connection, sql: str, parameters: Any, error: Any,
             cursor: Any) -> exc.StatementError:
    """The driver's error as SQLAlchemy's, invalidating the connection if it was lost."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(error, dbapi_connection, cursor)
    if lost:
        connection.invalidate(error)
    wrapped: exc.StatementError = exc.DBAPIError.instance(
        sql, parameters, error, dialect.loaded_dbapi.Error, hide_parameters=True,
        connection_invalidated=lost, dialect=dialect)
    return wrapped
