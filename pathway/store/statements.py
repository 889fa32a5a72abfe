"""The write statements of the transition path, each built once per shape.

A shape is the set of columns written (and, for multi-row inserts, the number of rows), so a
statement is compiled once per dialect and shape (`pathway.store.sql.compiled`).
"""

from __future__ import annotations

import functools

from sqlalchemy import Insert, Table, Update, and_, bindparam, case, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from pathway.store.tables import EPISODES, MILESTONES, REMINDERS
from pathway.vocabulary import ReminderStatus

OPEN_STATUSES = (ReminderStatus.OPEN.value, ReminderStatus.SNOOZED.value,
                 ReminderStatus.ACKNOWLEDGED.value)
_R = REMINDERS.c


@functools.cache
def insert_rows(table: Table, keys: tuple[str, ...], count: int, returning: str) -> Insert:
    """INSERT of `count` rows of `keys` (parameters `{key}_{i}`), returning `returning`'s
    columns (comma-separated names)."""
    values = [{k: bindparam(f"{k}_{i}", type_=table.c[k].type) for k in keys}
              for i in range(count)]
    return insert(table).values(values).returning(*(table.c[c] for c in returning.split(",")))


@functools.cache
def update_by_id(table: Table, keys: frozenset[str]) -> Update:
    """UPDATE one row by id (`row_id`)."""
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values({k: bindparam(k, type_=table.c[k].type) for k in sorted(keys)}))


@functools.cache
def claim_episode(keys: frozenset[str]) -> Update:
    """UPDATE an episode only if it is still at the version it was loaded at."""
    return (update(EPISODES)
            .where(EPISODES.c.id == bindparam("row_id"),
                   EPISODES.c.version == bindparam("old_version"))
            .values({k: bindparam(k, type_=EPISODES.c[k].type) for k in sorted(keys)}))


_CLOSE_VALUES = {k: bindparam(k, type_=MILESTONES.c[k].type)
                 for k in ("status", "met_on", "closed_at")}
#: Close one milestone whatever its alert (a scan raised for it after it was loaded).
CLOSE = (update(MILESTONES).where(MILESTONES.c.id == bindparam("row_id"))
         .values(next_alert_at=None, next_alert_kind=None, **_CLOSE_VALUES))



@functools.cache
def close_many(alerted: int, unalerted: int) -> Update:
    """Close several milestones in one statement, returning the ids it closed: rows 0 to
    `alerted`-1 (`id_i`, `status_i`, `met_on_i`) whatever their alert, the next `unalerted`
    only if their alert is as loaded (`loaded_i`); `closed_at` for all."""
    m = MILESTONES.c
    rows = range(alerted + unalerted)
    ids = [bindparam(f"id_{i}", type_=m.id.type) for i in rows]
    matches = [m.id == ids[i] for i in range(alerted)] + [
        and_(m.id == ids[i], m.next_alert_at.is_not_distinct_from(
            bindparam(f"loaded_{i}", type_=m.next_alert_at.type)))
        for i in range(alerted, alerted + unalerted)]
    return (update(MILESTONES).where(or_(*matches)).values(
        status=case(*((m.id == ids[i], bindparam(f"status_{i}", type_=m.status.type))
                      for i in rows)),
        met_on=case(*((m.id == ids[i], bindparam(f"met_on_{i}", type_=m.met_on.type))
                      for i in rows)),
        closed_at=bindparam("closed_at", type_=m.closed_at.type),
        next_alert_at=None, next_alert_kind=None).returning(m.id))


_RESOLVED = {"status": ReminderStatus.RESOLVED.value,
             "resolved_at": bindparam("now", type_=_R.resolved_at.type),
             "resolution": bindparam("resolution"), "escalate_at": None}
_STILL_OPEN = or_(*(_R.status == s for s in OPEN_STATUSES))
RESOLVE_OF_MILESTONE = (update(REMINDERS)
                        .where(_R.episode_id == bindparam("episode_id"),
                               _R.milestone_id == bindparam("milestone_id"), _STILL_OPEN)
                        .values(**_RESOLVED).returning(_R.id))


@functools.cache
def resolve_of_kinds(kinds: tuple[str, ...] | None) -> Update:
    """Resolve an episode's open reminders of `kinds` (all when None), returning their ids."""
    where = [_R.episode_id == bindparam("episode_id"), _STILL_OPEN]
    if kinds is not None:
        where.append(or_(*(_R.kind == k for k in kinds)))
    return update(REMINDERS).where(*where).values(**_RESOLVED).returning(_R.id)


_REMINDER_KEYS = ("episode_id", "milestone_id", "kind", "due_on", "priority", "status", "rule",
                  "seeds", "raised_at", "escalate_at")


@functools.cache
def raise_reminders(dialect: str, count: int) -> Insert:
    """INSERT `count` reminders, ignoring those already raised for (episode, kind, due
    date): exactly once however many processes raise them. Returns the new ones' id, kind."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = [{k: bindparam(f"{k}_{i}", type_=_R[k].type) for k in _REMINDER_KEYS}
              for i in range(count)]
    return (make(REMINDERS).values(values)
            .on_conflict_do_nothing(index_elements=["episode_id", "kind", "due_on"])
            .returning(_R.id, _R.kind))


REMINDER_KEYS = _REMINDER_KEYS
