"""The column types every table uses, the same on both databases.

Timestamps are returned timezone-aware UTC on every database (`UTCDateTime`): PostgreSQL
stores them as naive UTC `timestamp`s, SQLite as integer microseconds since 1970-01-01 UTC
(8 bytes and an exact order, where its default text form took 26; BENCHMARKS.md, workload 2).
Calendar days (`Day`) are PostgreSQL `date`s and, on SQLite, integer days since 1970-01-01
(two or three bytes where the text form took 10).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class SQLiteInstant(UserDefinedType[int]):
    """How SQLite holds a `UTCDateTime`: integer microseconds since `EPOCH`, in a column
    declared `DATETIME` (as the migrations created it; the declared type only sets the
    column's affinity, under which an integer stays an integer). No processing of its own:
    `UTCDateTime` converts."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "DATETIME"


def to_epoch_micros(value: dt.datetime) -> int:
    """An aware datetime as SQLite stores it: whole microseconds since `EPOCH`."""
    return (value - EPOCH) // _MICROSECOND


def from_epoch_micros(value: int) -> dt.datetime:
    """A stored SQLite instant as an aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=value)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime: naive UTC `timestamp` on PostgreSQL, integer
    microseconds on SQLite (`SQLiteInstant`)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return SQLiteInstant()
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime")
        if dialect.name == "sqlite":
            return to_epoch_micros(value)
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return from_epoch_micros(value)
        if not isinstance(value, dt.datetime):
            raise TypeError(f"a stored instant must be an integer here, not {value!r}")
        return value.replace(tzinfo=dt.UTC)


#: `date.toordinal()` of 1970-01-01: SQLite's `Day` counts from it.
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


class SQLiteDay(UserDefinedType[int]):
    """How SQLite holds a `Day`: integer days since 1970-01-01, in a column declared `DATE`
    (as the migrations created it; its affinity leaves integers as integers). No processing
    of its own: `Day` converts."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "DATE"


class Day(TypeDecorator[dt.date]):
    """A calendar day: `date` on PostgreSQL, integer days since 1970-01-01 on SQLite
    (`SQLiteDay`; the difference of two days is then their distance in days, as on
    PostgreSQL)."""

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return SQLiteDay()
        return dialect.type_descriptor(Date())

    def process_bind_param(self, value: dt.date | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise TypeError(f"a day must be a date, not {value!r}")
        if dialect.name == "sqlite":
            return value.toordinal() - EPOCH_ORDINAL
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, int):
            return dt.date.fromordinal(value + EPOCH_ORDINAL)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        raise TypeError(f"a stored day must be an integer here, not {value!r}")
