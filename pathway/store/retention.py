"""What the product keeps only for a while: the stored responses of `Idempotency-Key`s.

A key makes a POST safe to retry; a retry comes within minutes or hours, so its stored
response (the whole response body) is kept for `Settings.idempotency_retention_hours` and then
deleted by the scheduler. Kept for ever they would outgrow the clinical records themselves at
an integration that sends a key with every event. Clinical records (episodes, events,
reminders and their history) are never deleted here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from pathway.store.models import IdempotencyRecord
from pathway.store.tables import table_of as cast_table

#: Stored responses deleted per statement (each batch its own transaction in the scheduler,
#: so a large backlog never holds SQLite's write lock for long).
PURGE_BATCH = 1000


def purge_idempotency_records(session: Session, *, before: dt.datetime,
                              limit: int = PURGE_BATCH) -> int:
    """Delete up to `limit` stored responses created before `before`, oldest first; how many
    were deleted (fewer than `limit`: none older is left)."""
    table = cast_table(IdempotencyRecord)
    oldest = (select(table.c.actor, table.c.key)
              .where(table.c.created_at < before)
              .order_by(table.c.created_at)
              .limit(limit))
    result = session.execute(
        delete(table).where(tuple_(table.c.actor, table.c.key).in_(oldest)))
    return int(result.rowcount)  # type: ignore[attr-defined]
