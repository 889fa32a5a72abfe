"""`Idempotency-Key` records as the API looks them up: one per caller and key, a placeholder
while its request runs and the stored response after (`api.idempotency` reserves, fills and
replays them, in the request's own transaction). Deleting them after their retention is
`pathway.store.retention`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pathway.models import IdempotencyRecord


def key_record(session: Session, *, actor: str, key: str) -> IdempotencyRecord | None:
    """The record of this caller's key, or None (never used, or deleted after retention).
    Through the session's identity map, as the request that reserved it may hold it."""
    return session.get(IdempotencyRecord, (actor, key))
