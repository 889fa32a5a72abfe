"""Row writes for the transition path: statements built once, objects kept in step by hand.

A transition writes a handful of rows whose shape is known in advance. Through the ORM's unit of
work each flush costs more than the statements it emits (about a millisecond on a small
server, see BENCHMARKS.md), so the use cases write with Core statements built once per table
and then make the session's objects look freshly loaded: an inserted object joins the session
as persistent and clean (`direct.attach`, as the ORM's loader does with a row it read), an
updated one gets its new values as committed values (`set_committed_value`). The session stays
coherent, and has nothing left to flush for these rows.

The one rule that keeps this right: on these paths, never assign to an attribute of a
persistent object; call `update` (or `claim_version` for an episode) instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert, Update

from pathway import direct
from pathway.models import Base, Episode

B = TypeVar("B", bound=Base)


def cast_table(cls: type[Base]) -> Table:
    """A mapped class's table, typed as one."""
    table = cls.__table__
    assert isinstance(table, Table)
    return table


@functools.cache
def _insert_statement(cls: type[Base], keys: frozenset[str]) -> Insert:
    table = cast_table(cls)
    return (insert(table).values({key: bindparam(key) for key in sorted(keys)})
            .returning(table.c.id))


@functools.cache
def _scalar_defaults(cls: type[Base]) -> dict[str, Any]:
    # What the INSERT fills in for a column left out: its scalar default, else NULL.
    found: dict[str, Any] = {}
    for column in cast_table(cls).columns:
        default = column.default
        if default is not None and not default.is_scalar:
            raise TypeError(f"{cls.__name__}.{column.key}: only scalar defaults are supported")
        found[column.key] = default.arg if default is not None else None  # type: ignore[attr-defined]
    return found


@functools.cache
def _update_statement(cls: type[Base], keys: frozenset[str]) -> Update:
    table = cast_table(cls)
    return (
        sql_update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({key: bindparam(key) for key in sorted(keys)})
    )


@functools.cache
def _claim_statement(keys: frozenset[str]) -> Update:
    table = cast_table(Episode)
    return (
        sql_update(table)
        .where(table.c.id == bindparam("row_id"), table.c.version == bindparam("old_version"))
        .values({key: bindparam(key) for key in sorted(keys | {"version"})})
    )


def _given_values(obj: Base) -> dict[str, Any]:
    # Only what was set: columns left out get their defaults from the INSERT.
    given = obj.__dict__
    return {c.key: given[c.key] for c in cast_table(type(obj)).columns if c.key in given}


def build(cls: type[B], **values: Any) -> B:
    """A new object of `cls` holding `values`, made without the ORM's per-attribute events
    (they cost more than the INSERT on the driver's cursor); write it with `insert_one` or
    `insert_all`. Columns left out get their defaults there."""
    obj: B = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    return obj


def insert_all(session: Session, objects: Sequence[B]) -> Sequence[B]:
    """INSERT new objects of one class, one short statement each on the driver's cursor
    (`pathway.direct`); they join the session as loaded."""
    if not objects:
        return objects
    cls = type(objects[0])
    defaults = _scalar_defaults(cls)
    for obj in objects:
        values = _given_values(obj)
        row_id = direct.scalar_id(session, _insert_statement(cls, frozenset(values)), values)
        state = obj.__dict__  # the instance's attribute values, committed as they stand below
        for key, value in defaults.items():
            state.setdefault(key, value)
        state["id"] = row_id
        direct.attach(session, obj)
    return objects


def insert_one(session: Session, obj: B) -> B:
    """INSERT one new object; it joins the session as loaded."""
    insert_all(session, [obj])
    return obj


def update(session: Session, obj: Base, values: dict[str, Any]) -> None:
    """UPDATE one row by id and record the new values on its object as committed."""
    if not values:
        return
    params = {"row_id": obj.__dict__["id"], **values}
    direct.rowcount(session, _update_statement(type(obj), frozenset(values)), params)
    for key, value in values.items():
        set_committed_value(obj, key, value)


def claim_version(session: Session, episode: Episode, version: int,
                  values: dict[str, Any]) -> bool:
    """Move an episode from its loaded version to `version` with `values`, only if nobody else
    has moved it since it was loaded; False when someone has (optimistic concurrency)."""
    params = {"row_id": episode.id, "old_version": episode.version, "version": version, **values}
    if direct.rowcount(session, _claim_statement(frozenset(values)), params) != 1:
        return False
    for key, value in params.items():
        if key not in ("row_id", "old_version"):
            set_committed_value(episode, key, value)
    return True
