"""The due milestones' side of a scan: which episodes have one due, moving alerts on."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.orm import Session

from pathway.rules.changes import AlertMoved
from pathway.store import sql
from pathway.store.statements import OPEN_STATUSES, update_by_id
from pathway.store.tables import MILESTONES, REMINDER_ACTIONS, REMINDERS
from pathway.vocabulary import ReminderStatus

_M = MILESTONES.c
#: The actor of what a scan does.
SYSTEM_ACTOR = "system:scheduler"


@dataclass(frozen=True)
class ScanResult:
    """What one scan did: milestones looked at, reminders raised, duplicates ignored."""

    examined: int
    raised: int
    already_raised: int


def claim_episodes(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """The episodes of up to `limit` milestones whose alert time has come, soonest first
    (on PostgreSQL the milestones are locked, skipping those another scan holds)."""
    query = (select(_M.id, _M.episode_id)
             .where(_M.next_alert_at.is_not(None),
                    _M.next_alert_at <= bindparam("now", type_=_M.next_alert_at.type))
             .order_by(_M.next_alert_at).limit(bindparam("limit")))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = sql.raw_rows(session, query, {"now": now, "limit": limit})
    return list(dict.fromkeys(int(episode) for _id, episode in found))


def move_alerts(session: Session, moved: Sequence[AlertMoved], now: dt.datetime) -> None:
    """Arm each milestone's next alert (or none); a notice that ended is met."""
    for move in moved:
        values: dict[str, Any] = {"next_alert_at": move.next_alert_at,
                                  "next_alert_kind": move.next_alert_kind}
        if move.status is not None:
            values.update(status=move.status, met_on=move.met_on, closed_at=now)
        sql.rowcount(session, update_by_id(MILESTONES, frozenset(values)),
                     {"row_id": move.id, **values})


#: How a heads-up is resolved when its milestone's overdue reminder is raised.
SUPERSEDED = "superseded_by_overdue"
_R = REMINDERS.c


@functools.cache
def _supersede(heads_ups: tuple[str, ...], overdues: tuple[str, ...]) -> Update:
    raised = (select(_R.milestone_id)
              .where(_R.id.in_(bindparam("new_ids", expanding=True)), _R.kind.in_(overdues))
              .scalar_subquery())
    return (update(REMINDERS)
            .where(_R.milestone_id.in_(raised), _R.kind.in_(heads_ups),
                   _R.status.in_(OPEN_STATUSES))
            .values(status=ReminderStatus.RESOLVED.value,
                    resolved_at=bindparam("now", type_=_R.resolved_at.type),
                    resolution=SUPERSEDED, escalate_at=None)
            .returning(_R.id))


def supersede_heads_ups(session: Session, new_ids: Sequence[int],
                        heads_up_then: dict[str, str], now: dt.datetime) -> list[int]:
    """One reminder per task: the unresolved heads-ups (`x_due`) of the milestones whose
    overdue reminder (`x_overdue`) was just raised (`new_ids`) are resolved as superseded,
    each with its own history row; returns their ids."""
    if not new_ids or not heads_up_then:
        return []
    statement = _supersede(tuple(sorted(heads_up_then)), tuple(sorted(set(heads_up_then.values()))))
    gone = [int(i) for i in session.scalars(statement, {"new_ids": list(new_ids), "now": now})]
    if gone:
        session.execute(insert(REMINDER_ACTIONS), [
            {"reminder_id": rid, "at": now, "actor": SYSTEM_ACTOR, "action": "resolved",
             "detail": {"resolution": SUPERSEDED}} for rid in gone])
    return gone
