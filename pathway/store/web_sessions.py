"""Dashboard sessions as remembered: a row per session, found by the SHA-256 of the browser's
token (the token itself is never stored), with its user, its small state (the CSRF token, a
flash message), when it was last seen and when it ends. Ending a session stamps the row;
rows are deleted only by the housekeeping job, well after they ended or expired. (How long a
session lasts is decided by `pathway.sessions`.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from pathway.store.models import User, WebSession
from pathway.store.tables import table_of

_S = table_of(WebSession)
_U = table_of(User)

_LOAD = (select(_S.c.id, _S.c.user_id, _S.c.data, _S.c.created_at, _S.c.last_seen_at,
                _S.c.expires_at, _S.c.ended_at, _U.c.username, _U.c.role, _U.c.display_name,
                _U.c.active)
         .outerjoin(_U, _U.c.id == _S.c.user_id)
         .where(_S.c.token_hash == bindparam("token_hash")))
_LIVE_FILTER = (_S.c.ended_at.is_(None), _S.c.expires_at > bindparam("now"))


@dataclass(frozen=True)
class StoredSession:
    """A session's row with its user's name, role and standing (if it has a user)."""

    id: int
    user_id: int | None
    data: dict[str, Any]
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    username: str | None
    role: str | None
    display_name: str | None
    active: bool | None


@dataclass(frozen=True)
class SessionListing:
    """A live session as an administrator sees it (never its token)."""

    id: int
    username: str
    client_address: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


def load(session: Session, token_hash: str) -> StoredSession | None:
    """The session stored under this token hash (live or not), or None."""
    row = session.execute(_LOAD, {"token_hash": token_hash}).first()
    return StoredSession(*row) if row else None


def user_id_named(session: Session, username: str) -> int | None:
    """The id of the active user with this name, or None."""
    return session.scalar(select(_U.c.id).where(_U.c.username == username,
                                                _U.c.active.is_(True)))


def create(session: Session, *, token_hash: str, user_id: int | None, data: dict[str, Any],
           client_address: str | None, now: dt.datetime, expires_at: dt.datetime) -> int:
    """Store a new session; its id."""
    return int(session.execute(insert(_S).values(
        token_hash=token_hash, user_id=user_id, data=data, client_address=client_address,
        created_at=now, last_seen_at=now, expires_at=expires_at).returning(_S.c.id)).scalar_one())


def save(session: Session, session_id: int, *, now: dt.datetime,
         data: dict[str, Any] | None = None) -> None:
    """Mark the session seen at `now`, with its new state if it changed."""
    values: dict[str, Any] = {"last_seen_at": now}
    if data is not None:
        values["data"] = data
    session.execute(update(_S).where(_S.c.id == session_id).values(**values))


def end(session: Session, session_id: int, *, now: dt.datetime, reason: str) -> bool:
    """End one session if it is still going; whether it was."""
    result = session.execute(update(_S).where(_S.c.id == session_id, _S.c.ended_at.is_(None))
                             .values(ended_at=now, end_reason=reason))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_for_user(session: Session, user_id: int, *, now: dt.datetime, reason: str,
                 keep: int | None = None) -> int:
    """End every going session of a user (but `keep`, the caller's own); how many."""
    statement = update(_S).where(_S.c.user_id == user_id, _S.c.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(_S.c.id != keep)
    result = session.execute(statement.values(ended_at=now, end_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


def live(session: Session, *, now: dt.datetime, idle_before: dt.datetime,
         username: str | None = None) -> list[SessionListing]:
    """The sessions of users that are going at `now` (not ended, not expired, seen since
    `idle_before`), newest first; of one user if named."""
    statement = (select(_S.c.id, _U.c.username, _S.c.client_address, _S.c.created_at,
                        _S.c.last_seen_at, _S.c.expires_at)
                 .join(_U, _U.c.id == _S.c.user_id)
                 .where(*_LIVE_FILTER, _S.c.last_seen_at >= idle_before)
                 .order_by(_S.c.last_seen_at.desc()))
    if username is not None:
        statement = statement.where(_U.c.username == username)
    return [SessionListing(*row) for row in session.execute(statement, {"now": now})]


def owner(session: Session, session_id: int) -> int | None:
    """The user id of a session, or None (anonymous or no such session)."""
    return session.scalar(select(_S.c.user_id).where(_S.c.id == session_id))


def purge(session: Session, *, before: dt.datetime, limit: int) -> int:
    """Delete up to `limit` sessions that ended or expired before `before`; how many."""
    oldest = (select(_S.c.id).where(or_(_S.c.ended_at < before, _S.c.expires_at < before))
              .order_by(_S.c.id).limit(limit))
    result = session.execute(delete(_S).where(_S.c.id.in_(oldest)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_live(session: Session, *, now: dt.datetime) -> int:
    """How many sessions (anonymous included) have not ended or expired."""
    return int(session.scalar(select(func.count()).select_from(_S).where(*_LIVE_FILTER),
                              {"now": now}) or 0)
