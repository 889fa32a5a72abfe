"""The due milestones' side of a scan: which episodes have one due, moving alerts on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pathway.rules.changes import AlertMoved
from pathway.store import sql
from pathway.store.statements import update_by_id
from pathway.store.tables import MILESTONES

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
