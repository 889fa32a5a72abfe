"""Failed logins as remembered, per throttle key, so that every API process counts the same
failures (the throttle's limits are decided by `pathway.throttle`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from pathway.store.models import LoginFailure
from pathway.store.tables import table_of

_F = table_of(LoginFailure)


def recent(session: Session, keys: Sequence[str],
           since: dt.datetime) -> dict[str, tuple[int, dt.datetime]]:
    """For each key with failures after `since`: how many, and the oldest of them."""
    statement = (select(_F.c.key, func.count(), func.min(_F.c.failed_at))
                 .where(_F.c.key.in_(list(keys)), _F.c.failed_at > since)
                 .group_by(_F.c.key))
    return {key: (int(count), oldest) for key, count, oldest in session.execute(statement)}


def add(session: Session, keys: Sequence[str], at: dt.datetime) -> None:
    """Count one failure against each key."""
    session.execute(insert(_F), [{"key": key, "failed_at": at} for key in keys])


def forget(session: Session, key: str) -> None:
    """Forget a key's failures."""
    session.execute(delete(_F).where(_F.c.key == key))


def purge(session: Session, before: dt.datetime) -> int:
    """Delete the failures older than `before`; how many."""
    result = session.execute(delete(_F).where(_F.c.failed_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
