"""Applying the rules' `Changes` to an episode, in as few statements as the work needs.

The order is the concurrency story: the episode's version is claimed first (a concurrent
writer of the same episode waits on its row lock, then finds the version moved on and gets
`Conflict` before writing anything), then the log row, the records, the milestones, the
reminders. A milestone is closed with a condition on its alert as loaded: if a scan in
another process raised its reminder meanwhile, the condition fails (PostgreSQL re-reads the
row after waiting for the scan's lock), and the store then closes it anyway and resolves
what the scan raised. Reminders are raised with an insert that ignores conflicts on
(episode, kind, due date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from pathway.errors import Conflict
from pathway.rules.changes import Changes, ClosedMilestone, NewMilestone, NewReminder, Record
from pathway.store import due, sql
from pathway.store import statements as st
from pathway.store.tables import (
    EVENTS,
    IMAGING,
    MILESTONES,
    REMINDER_ACTIONS,
    THERAPIES,
)

_RECORD_TABLES = {"imaging": IMAGING, "therapy": THERAPIES}
_MILESTONE_KEYS = ("episode_id", "kind", "status", "anchor_on", "due_on", "overdue_on",
                   "due_at", "overdue_at", "next_alert_at", "next_alert_kind", "created_at",
                   "met_on", "first_of_kind")
_EVENT_KEYS = ("episode_id", "seq", "name", "occurred_on", "recorded_at", "actor",
               "source_state", "target_state", "data")
_ACTION_KEYS = ("reminder_id", "at", "actor", "action", "detail")


@dataclass(frozen=True)
class Written:
    """What the store wrote: the log row's id, the new milestones' ids (in order) and the
    reminders newly raised (those already raised are not)."""

    event_id: int
    milestone_ids: tuple[int, ...]
    raised: tuple[tuple[int, str], ...]  # (id, kind)
    resolved_ids: tuple[int, ...]

    @property
    def raised_ids(self) -> tuple[int, ...]:
        return tuple(rid for rid, _kind in self.raised)


def insert_many(session: Session, table: Table, keys: tuple[str, ...],
                rows: Sequence[dict[str, Any]], returning: str = "id") -> list[tuple[Any, ...]]:
    """INSERT rows in one statement; the `returning` columns of each, unprocessed."""
    if not rows:
        return []
    params = {f"{k}_{i}": row.get(k) for i, row in enumerate(rows) for k in keys}
    return sql.raw_rows(session, st.insert_rows(table, keys, len(rows), returning), params)


def claim(session: Session, episode_id: int, loaded_version: int,
          values: dict[str, Any]) -> None:
    """Write the episode's new columns if nobody has moved it since it was loaded."""
    params = {"row_id": episode_id, "old_version": loaded_version, **values}
    if sql.rowcount(session, st.claim_episode(frozenset(values)), params) != 1:
        raise Conflict("the episode was changed by someone else; reload and retry")


def apply(session: Session, episode_id: int, loaded_version: int, changes: Changes) -> Written:
    """Apply `changes` to the episode loaded at `loaded_version` (0: a new episode, whose row
    the caller has just inserted)."""
    if loaded_version:
        claim(session, episode_id, loaded_version, changes.episode)
    event_id = sql.inserted_id(session, st.insert_rows(EVENTS, _EVENT_KEYS, 1, "id"), {
        f"{k}_0": v for k, v in _log_values(changes, episode_id).items()})
    _records(session, changes.records, episode_id, event_id)
    resolved = _close(session, episode_id, changes.closed, changes)
    due.move_alerts(session, changes.moved, changes.now)
    ids = _open(session, episode_id, changes.opened, changes.now)
    for resolution in changes.resolved:
        found = [r for (r,) in sql.raw_rows(session, st.resolve_of_kinds(resolution.kinds), {
            "episode_id": episode_id, "now": changes.now, "resolution": resolution.resolution})]
        _history(session, found, "resolved", {"resolution": resolution.resolution}, changes)
        resolved += found
    raised = raise_reminders(session, episode_id, changes.raised, ids, changes.now)
    return Written(event_id, tuple(ids), tuple(raised), tuple(resolved))


def _log_values(changes: Changes, episode_id: int) -> dict[str, Any]:
    log = changes.log
    return {"episode_id": episode_id, "seq": log.seq, "name": log.name,
            "occurred_on": log.occurred_on, "recorded_at": log.recorded_at, "actor": log.actor,
            "source_state": log.source_state, "target_state": log.target_state,
            "data": log.data}


def _records(session: Session, records: Sequence[Record], episode_id: int,
             event_id: int) -> None:
    for record in records:
        table = _RECORD_TABLES[record.table]
        values = {**record.values, "episode_id": episode_id, "event_id": event_id}
        insert_many(session, table, tuple(sorted(values)), [values])


def _close(session: Session, episode_id: int, closing: Sequence[ClosedMilestone],
           changes: Changes) -> list[int]:
    """Close the milestones in one statement; resolve the open reminders of those a scan had
    raised for (or may have, if the row changed since it was loaded: it is closed anyway).
    The ids of the reminders resolved."""
    if not closing:
        return []
    ordered = sorted(closing, key=lambda c: not c.alerted)  # the alerted ones first
    alerted = sum(1 for c in ordered if c.alerted)
    params: dict[str, Any] = {"closed_at": changes.now}
    for i, c in enumerate(ordered):
        params.update({f"id_{i}": c.id, f"status_{i}": c.status, f"met_on_{i}": c.met_on})
        if not c.alerted:
            params[f"loaded_{i}"] = c.loaded_alert_at
    closed = {int(r) for (r,) in sql.raw_rows(
        session, st.close_many(alerted, len(ordered) - alerted), params)}
    resolved: list[int] = []
    for c in ordered:
        if not c.alerted and c.id in closed:
            continue  # nothing was raised for it: nothing to resolve
        if c.id not in closed:  # a scan raised for it meanwhile: close it anyway
            sql.rowcount(session, st.CLOSE, {"row_id": c.id, "status": c.status,
                                             "met_on": c.met_on, "closed_at": changes.now})
        found = [r for (r,) in sql.raw_rows(session, st.RESOLVE_OF_MILESTONE, {
            "episode_id": episode_id, "milestone_id": c.id, "now": changes.now,
            "resolution": c.resolution})]
        _history(session, found, "resolved", {"resolution": c.resolution}, changes)
        resolved += found
    return resolved


def _history(session: Session, reminder_ids: Sequence[int], action: str,
             detail: dict[str, Any], changes: Changes) -> None:
    insert_many(session, REMINDER_ACTIONS, _ACTION_KEYS, [
        {"reminder_id": rid, "at": changes.now, "actor": changes.actor, "action": action,
         "detail": detail} for rid in reminder_ids])


def _open(session: Session, episode_id: int, opened: Sequence[NewMilestone],
          now: dt.datetime) -> list[int]:
    """Insert new milestones; their ids in order (kinds are unique within one change)."""
    rows = [{**{k: getattr(m, k) for k in _MILESTONE_KEYS if k not in (
        "episode_id", "created_at")}, "episode_id": episode_id, "created_at": now}
        for m in opened]
    by_kind = {kind: int(rid) for rid, kind in insert_many(
        session, MILESTONES, _MILESTONE_KEYS, rows, returning="id,kind")}
    return [by_kind[m.kind] for m in opened]


def raise_reminders(session: Session, episode_id: int, reminders: Sequence[NewReminder],
                    new_milestone_ids: Sequence[int], now: dt.datetime,
                    actor: str = "system:scheduler") -> list[tuple[int, str]]:
    """Raise each reminder once for (episode, kind, due date) with its "raised" history row;
    the id and kind of those newly raised."""
    if not reminders:
        return []
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {}
    for i, r in enumerate(reminders):
        milestone = (new_milestone_ids[r.milestone[1]] if isinstance(r.milestone, tuple)
                     else r.milestone)
        row = {"episode_id": episode_id, "milestone_id": milestone, "kind": r.kind,
               "due_on": r.due_on, "priority": r.priority, "status": "open", "rule": r.rule,
               "seeds": r.seeds, "raised_at": now, "escalate_at": r.escalate_at}
        params.update({f"{k}_{i}": row[k] for k in st.REMINDER_KEYS})
    raised = [(int(rid), str(kind)) for rid, kind in sql.raw_rows(
        session, st.raise_reminders(dialect, len(reminders)), params)]
    insert_many(session, REMINDER_ACTIONS, _ACTION_KEYS, [
        {"reminder_id": rid, "at": now, "actor": actor, "action": "raised", "detail": {}}
        for rid, _kind in raised])
    superseding = {r.supersedes: r.kind for r in reminders if r.supersedes}
    if raised and superseding:
        due.supersede_heads_ups(session, [rid for rid, _kind in raised], superseding, now)
    return raised
