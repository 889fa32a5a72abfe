"""`Idempotency-Key` records: one per caller and key, a placeholder while its request runs and
the stored response after (`api.idempotency` reserves, fills and replays them, in the request's
own transaction). Deleting them after their retention is `pathway.store.retention`.

A key is reserved with `INSERT ... ON CONFLICT DO NOTHING`: on PostgreSQL an insert that meets
another transaction's uncommitted row with the same key waits for it, then inserts nothing if
it committed; the request's transaction goes on either way (nothing to roll back), and the
stored response is then read and replayed. On SQLite writers take turns, so a conflict is
always with a committed row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pathway.store.models import IdempotencyRecord
from pathway.store.tables import table_of

_TABLE = table_of(IdempotencyRecord)
_COLUMNS = ("actor", "key", "method", "path", "body_hash", "status_code", "response_headers",
            "response_body", "created_at")
_THIS_KEY = (_TABLE.c.actor == bindparam("b_actor")) & (_TABLE.c.key == bindparam("b_key"))
_READ = select(_TABLE.c.method, _TABLE.c.path, _TABLE.c.body_hash, _TABLE.c.status_code,
               _TABLE.c.response_headers, _TABLE.c.response_body).where(_THIS_KEY)
_FILL = update(_TABLE).where(_THIS_KEY).values(
    status_code=bindparam("status_code"), response_headers=bindparam("response_headers"),
    response_body=bindparam("response_body"))


def _reserving(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_TABLE).values({c: bindparam(c) for c in _COLUMNS}).on_conflict_do_nothing(
        index_elements=[_TABLE.c.actor, _TABLE.c.key]).returning(_TABLE.c.actor)


_RESERVE = {name: _reserving(name) for name in ("postgresql", "sqlite")}


@dataclass(frozen=True)
class KeyRecord:
    """What was stored under a key: the request it was for and (once filled) its response;
    `status_code` 0 while the request is still running."""

    method: str
    path: str
    body_hash: str
    status_code: int
    response_headers: dict[str, str]
    response_body: str


def reserve(session: Session, *, actor: str, key: str, method: str, path: str,
            body_hash: str, now: dt.datetime) -> bool:
    """Reserve the caller's key for this request: True, or False if it is taken (then
    `key_record` says by what)."""
    statement = _RESERVE[session.get_bind().dialect.name]
    result = session.execute(statement, {
        "actor": actor, "key": key, "method": method, "path": path, "body_hash": body_hash,
        "status_code": 0, "response_headers": {}, "response_body": "", "created_at": now})
    return result.first() is not None  # a row comes back only when one was inserted


def key_record(session: Session, *, actor: str, key: str) -> KeyRecord | None:
    """The record of this caller's key, or None (never used, or deleted after retention)."""
    row = session.execute(_READ, {"b_actor": actor, "b_key": key}).first()
    return KeyRecord(*row) if row is not None else None


def fill(session: Session, *, actor: str, key: str, status_code: int,
         response_headers: dict[str, str], response_body: str) -> None:
    """Store the response of the request that reserved the key."""
    session.execute(_FILL, {"b_actor": actor, "b_key": key, "status_code": status_code,
                            "response_headers": response_headers,
                            "response_body": response_body})
