"""API keys as remembered: only their SHA-256 (`pathway.access.hash_key`) and a display
prefix, never the secret. The live key behind a presented secret is read on every API request,
so it runs on the driver's cursor (`pathway.store.sql`) and comes back as a frozen row; the
rest are the ORM's objects, for the CLI and the dashboard. Statements are built once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from pathway.store import sql
from pathway.store.models import ApiKey
from pathway.store.tables import table_of

_KEYS = table_of(ApiKey)
_LIVE_BY_HASH = select(*_KEYS.columns).where(
    _KEYS.c.key_hash == bindparam("key_hash"), _KEYS.c.revoked_at.is_(None),
    or_(_KEYS.c.expires_at.is_(None),
        _KEYS.c.expires_at > bindparam("now", type_=_KEYS.c.expires_at.type)))
_TOUCH = (update(_KEYS).where(_KEYS.c.id == bindparam("key_id"))
          .values(last_used_at=bindparam("now", type_=_KEYS.c.last_used_at.type)))
_LIVE_BY_NAME = (select(ApiKey).where(ApiKey.name == bindparam("name"), ApiKey.revoked_at.is_(None))
                 .order_by(ApiKey.id))
_ID_BY_NAME = select(ApiKey.id).where(ApiKey.name == bindparam("name")).limit(1)
_EVERY_KEY = select(ApiKey).order_by(ApiKey.name, ApiKey.id)


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A live API key as read for one request."""

    id: int
    name: str
    key_hash: str
    prefix: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None


def live_key(session: Session, key_hash: str, now: dt.datetime) -> LiveKey | None:
    """The unrevoked, unexpired key stored with this hash, or None."""
    found = sql.rows(session, _LIVE_BY_HASH, {"key_hash": key_hash, "now": now})
    return LiveKey(*found[0]) if found else None


def touch(session: Session, key_id: int, now: dt.datetime) -> None:
    """Note that a key was used at `now`."""
    sql.rowcount(session, _TOUCH, {"key_id": key_id, "now": now})


def live_named(session: Session, name: str) -> list[ApiKey]:
    """The live secrets of a client name, oldest first (several while rotating)."""
    return list(session.scalars(_LIVE_BY_NAME, {"name": name}))


def key_name_taken(session: Session, name: str) -> bool:
    """Whether a key (live or revoked) has this name."""
    return session.scalar(_ID_BY_NAME, {"name": name}) is not None


def key_by_id(session: Session, key_id: int) -> ApiKey | None:
    """One secret by its id, or None."""
    return session.get(ApiKey, key_id)


def all_keys(session: Session) -> list[ApiKey]:
    """Every API key (live and revoked), by name, oldest secret first."""
    return list(session.scalars(_EVERY_KEY))
