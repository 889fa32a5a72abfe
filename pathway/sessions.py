"""Dashboard sessions, decided: how long one lasts, when it is seen again, how it ends.

The browser holds a random token (256 bits); the store keeps only its SHA-256 with the
session's user and small state. A session of a user ends on logout, on a password change or
deactivation (all of that user's sessions, in every process, at once: each request reads the
row), after `idle` without a request, or `absolute` after login, whichever comes first. An
anonymous session (before login: the login form's CSRF token, a message) lasts `anonymous`.
A login never reuses the session it arrived with (no session fixation). Nothing here knows
about HTTP: `api.dashboard.sessions` carries the token in a cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pathway.store import web_sessions
from pathway.store.web_sessions import SessionListing, StoredSession

#: Keys of a session's state that the store keeps in its own columns, not in `data`.
USER_KEY = "user"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last (`Settings.session_idle_minutes`, `session_hours`)."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=8)
    anonymous: dt.timedelta = dt.timedelta(hours=2)
    #: A request within this of the last one is not written down (most page views write
    #: nothing); the idle timeout is therefore exact to within this much.
    touch_every: dt.timedelta = dt.timedelta(seconds=60)


def new_token() -> str:
    """A fresh session token for the browser."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Resumed:
    """The session a request came with: `stored` if it is going; else why not (`ended`,
    `expired`, `idle`, `deactivated`), None when the request brought none or an unknown one."""

    stored: StoredSession | None
    lapsed: str | None = None
    #: The row of a session that lapsed but is not stamped ended yet (`persist` ends it).
    lapsed_id: int | None = None

    @property
    def state(self) -> dict[str, Any]:
        """The session's state as the pages see it (the user's name included)."""
        if self.stored is None:
            return {}
        state = dict(self.stored.data)
        if self.stored.username is not None:
            state[USER_KEY] = self.stored.username
        return state


def why_lapsed(stored: StoredSession, now: dt.datetime, policy: SessionPolicy) -> str | None:
    """Why a stored session can no longer be used at `now`, or None if it can."""
    if stored.ended_at is not None:
        return "ended"
    if stored.expires_at <= now:
        return "expired"
    if stored.user_id is not None:
        if not stored.active:
            return "deactivated"
        if stored.last_seen_at + policy.idle <= now:
            return "idle"
    return None


def resume(db: Session, token: str | None, *, now: dt.datetime,
           policy: SessionPolicy) -> Resumed:
    """The session behind a presented token (read only: a lapsed session is ended by
    `persist`, when the response is written)."""
    if not token or len(token) > 200:
        return Resumed(None)
    stored = web_sessions.load(db, token_hash(token))
    if stored is None:
        return Resumed(None)
    lapsed = why_lapsed(stored, now, policy)
    if lapsed is None:
        return Resumed(stored)
    return Resumed(None, lapsed, None if stored.ended_at is not None else stored.id)


@dataclass(frozen=True)
class Persisted:
    """What `persist` did: the browser's new token, if a new session was started."""

    token: str | None


def persist(db: Session, resumed: Resumed, state: dict[str, Any], *, cleared: bool,
            client_address: str | None, now: dt.datetime, policy: SessionPolicy) -> Persisted:
    """Write what a request did to its session: end the one it came with if it lapsed or was
    cleared (logout, login), start a new one if there is state left to keep, else save the
    state if it changed (or mark it seen, at most once per `touch_every`)."""
    username = state.get(USER_KEY)
    data = {k: v for k, v in state.items() if k != USER_KEY}
    old = resumed.stored
    if resumed.lapsed_id is not None:
        web_sessions.end(db, resumed.lapsed_id, now=now, reason=resumed.lapsed or "expired")
    if old is not None and cleared:
        web_sessions.end(db, old.id, now=now, reason="login" if username else "logout")
        old = None
    if old is not None and old.username == username:
        if data != old.data:
            web_sessions.save(db, old.id, now=now, data=data)
        elif now - old.last_seen_at >= policy.touch_every:
            web_sessions.save(db, old.id, now=now)
        return Persisted(None)
    if old is not None:  # the user changed without a clear: never carry a session over
        web_sessions.end(db, old.id, now=now, reason="login")
    if not state:
        return Persisted(None)
    # An unknown or inactive user's name logs nobody in: the session stays anonymous.
    user_id = web_sessions.user_id_named(db, username) if isinstance(username, str) else None
    lifetime = policy.absolute if user_id is not None else policy.anonymous
    token = new_token()
    web_sessions.create(db, token_hash=token_hash(token), user_id=user_id, data=data,
                        client_address=client_address, now=now, expires_at=now + lifetime)
    return Persisted(token)


def needs_writing(resumed: Resumed, state: dict[str, Any], *, cleared: bool,
                  now: dt.datetime, policy: SessionPolicy) -> bool:
    """Whether `persist` would write anything (most page views: no)."""
    if resumed.lapsed_id is not None or cleared:
        return True
    if resumed.stored is None:
        return bool(state)
    return state != resumed.state or now - resumed.stored.last_seen_at >= policy.touch_every


def end_sessions_of(db: Session, user_id: int, *, now: dt.datetime, reason: str,
                    keep: int | None = None) -> int:
    """End every going session of a user (a password change keeps the changer's own)."""
    return web_sessions.end_for_user(db, user_id, now=now, reason=reason, keep=keep)


def live_sessions(db: Session, *, now: dt.datetime, policy: SessionPolicy,
                  username: str | None = None) -> list[SessionListing]:
    """The users' sessions going at `now`, newest first."""
    return web_sessions.live(db, now=now, idle_before=now - policy.idle, username=username)


def purge_old_sessions(db: Session, *, before: dt.datetime, limit: int) -> int:
    """Delete up to `limit` sessions that ended or expired before `before`."""
    return web_sessions.purge(db, before=before, limit=limit)
