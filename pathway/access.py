"""Who may use the product: dashboard users (argon2 hashes, `pathway.passwords`' rule) and
API keys (stored as SHA-256, shown once, with an expiry and a last-used time; a client name
may hold several secrets while one is rotated). Every change is written to the
administration log (`pathway.store.admin_log`) with who made it; a password change or a
deactivation ends the user's dashboard sessions at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from pathway.errors import Duplicate, InvalidData, NotFound
from pathway.passwords import check_password
from pathway.sessions import end_sessions_of
from pathway.store import admin_log, api_keys, users
from pathway.store.admin_log import AdminEntry
from pathway.store.api_keys import LiveKey
from pathway.store.models import ApiKey, User
from pathway.vocabulary import Role

_hasher = PasswordHasher()
KEY_PREFIX = "pw_"
#: A key's life unless its creator says otherwise; 0 asks for a key that never expires.
DEFAULT_KEY_DAYS = 365
MAX_KEY_DAYS = 5 * 365
#: A key's last use is written down at most this often (not on every request).
TOUCH_EVERY = dt.timedelta(minutes=5)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against a fixed hash when the user does not exist keeps timing uniform; made
    on first use, not at import (argon2 costs half a second of CPU: every process start and
    every CLI command paid it)."""
    return _hasher.hash("not-a-real-password")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise InvalidData("role", f"must be one of {', '.join(r.value for r in Role)}") from exc


def create_user(
    session: Session, *, username: str, password: str, role: str, now: dt.datetime,
    email: str | None = None, display_name: str | None = None, actor: str = "cli",
) -> User:
    """Add a dashboard user with an argon2 password hash."""
    if not username or len(username) > 80 or username != username.strip():
        raise InvalidData("username", "must be 1-80 characters, without spaces around it")
    if display_name is not None and len(display_name) > 200:
        raise InvalidData("display_name", "must be at most 200 characters")
    if email is not None and (len(email) > 200 or "@" not in email):
        raise InvalidData("email", "must be an e-mail address")
    user_role = _role(role).value
    check_password(password, known=(username, display_name, email))
    if users.user_exists(session, username):
        raise Duplicate("user", username)
    user = User(username=username, password_hash=_hasher.hash(password), role=user_role,
                email=email, display_name=display_name, active=True, created_at=now)
    session.add(user)
    session.flush()
    admin_log.add(session, at=now, actor=actor, action="user.create", target=username,
                  detail={"role": user.role})
    return user


def verify_user(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = users.active_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def _user(session: Session, username: str) -> User:
    user = users.user_named(session, username)
    if user is None:
        raise NotFound("user", username)
    return user


def set_password(session: Session, *, username: str, password: str, now: dt.datetime,
                 actor: str = "cli", keep_session: int | None = None) -> User:
    """Replace a user's password; their sessions end (but `keep_session`, the changer's own
    when users change their own password)."""
    user = _user(session, username)
    check_password(password, known=(user.username, user.display_name, user.email))
    user.password_hash = _hasher.hash(password)
    session.flush()
    ended = end_sessions_of(session, user.id, now=now, reason="password_changed",
                            keep=keep_session)
    admin_log.add(session, at=now, actor=actor, action="user.password", target=username,
                  detail={"sessions_ended": ended})
    return user


def set_active(session: Session, *, username: str, active: bool, now: dt.datetime,
               actor: str = "cli") -> User:
    """Deactivate a user (their sessions end at once; nothing they did is lost) or
    reactivate one."""
    user = _user(session, username)
    if actor == f"user:{username}" and not active:
        raise InvalidData("username", "you cannot deactivate yourself")
    user.active = active
    session.flush()
    detail: dict[str, object] = {}
    if not active:
        detail["sessions_ended"] = end_sessions_of(session, user.id, now=now,
                                                   reason="deactivated")
    admin_log.add(session, at=now, actor=actor,
                  action="user.activate" if active else "user.deactivate", target=username,
                  detail=detail or None)
    return user


def set_role(session: Session, *, username: str, role: str, now: dt.datetime,
             actor: str = "cli") -> User:
    """Change a user's role (it applies from their next request)."""
    user = _user(session, username)
    old = user.role
    user.role = _role(role).value
    session.flush()
    admin_log.add(session, at=now, actor=actor, action="user.role", target=username,
                  detail={"from": old, "to": user.role})
    return user


def end_user_sessions(session: Session, *, username: str, now: dt.datetime,
                      actor: str) -> int:
    """End every session of a user (an administrator's decision); how many."""
    user = _user(session, username)
    ended = end_sessions_of(session, user.id, now=now, reason="ended_by_admin")
    admin_log.add(session, at=now, actor=actor, action="user.sessions_end", target=username,
                  detail={"sessions_ended": ended})
    return ended


def hash_key(raw: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _expiry(now: dt.datetime, days: int | None) -> dt.datetime | None:
    days = DEFAULT_KEY_DAYS if days is None else days
    if not 0 <= days <= MAX_KEY_DAYS:
        raise InvalidData("expires_in_days", f"must be 0 (never) to {MAX_KEY_DAYS}")
    return now + dt.timedelta(days=days) if days else None


def _new_secret(session: Session, *, name: str, role: str, now: dt.datetime,
                expires_at: dt.datetime | None) -> tuple[ApiKey, str]:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_hash=hash_key(raw), prefix=raw[:10], role=role,
                 created_at=now, expires_at=expires_at)
    session.add(key)
    session.flush()
    return key, raw


def create_api_key(
    session: Session, *, name: str, role: str, now: dt.datetime,
    expires_in_days: int | None = None, actor: str = "cli",
) -> tuple[ApiKey, str]:
    """Add an API key; returns the row and the raw key (shown once, never stored). It expires
    after `expires_in_days` (default `DEFAULT_KEY_DAYS`; 0: never)."""
    if not name or len(name) > 80 or name != name.strip():
        raise InvalidData("name", "must be 1-80 characters, without spaces around it")
    key_role = _role(role).value
    expires_at = _expiry(now, expires_in_days)
    if api_keys.key_name_taken(session, name):
        raise Duplicate("api key", name)
    key, raw = _new_secret(session, name=name, role=key_role, now=now, expires_at=expires_at)
    admin_log.add(session, at=now, actor=actor, action="key.create", target=name,
                  detail={"role": key.role, "prefix": key.prefix,
                          "expires_on": expires_at.date().isoformat() if expires_at else None})
    return key, raw


def rotate_api_key(session: Session, *, name: str, now: dt.datetime,
                   expires_in_days: int | None = None, actor: str = "cli") -> tuple[ApiKey, str]:
    """A new secret for a client, beside its live ones (same name and role): the client
    moves to it, then the old one is revoked (`revoke_api_key` with its prefix)."""
    live = api_keys.live_named(session, name)
    if not live:
        raise NotFound("api key", name)
    key, raw = _new_secret(session, name=name, role=live[-1].role, now=now,
                           expires_at=_expiry(now, expires_in_days))
    admin_log.add(session, at=now, actor=actor, action="key.rotate", target=name,
                  detail={"prefix": key.prefix, "beside": [k.prefix for k in live]})
    return key, raw


def find_api_key(session: Session, raw: str, now: dt.datetime) -> LiveKey | None:
    """The live, unexpired key matching a presented secret, or None (every API request asks:
    read on the driver's cursor, `pathway.store.sql`)."""
    return api_keys.live_key(session, hash_key(raw), now)


def key_needs_touch(key: LiveKey, now: dt.datetime) -> bool:
    """Whether a key's last use is stale enough to be written down again (with the request's
    transaction: a request refused and rolled back is not counted as a use)."""
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


def touch_api_key(session: Session, key: LiveKey, now: dt.datetime) -> None:
    """Write down that a key was used at `now`."""
    api_keys.touch(session, key.id, now)


def revoke_api_key(session: Session, *, name: str, now: dt.datetime, prefix: str | None = None,
                   actor: str = "cli") -> list[ApiKey]:
    """Revoke a client's live secrets (only the one with `prefix`, when rotating); the
    secrets revoked."""
    live = api_keys.live_named(session, name)
    chosen = [k for k in live if prefix is None or k.prefix == prefix]
    if not chosen:
        raise NotFound("api key", name if prefix is None else f"{name} ({prefix})")
    for key in chosen:
        key.revoked_at = now
    session.flush()
    admin_log.add(session, at=now, actor=actor, action="key.revoke", target=name,
                  detail={"prefixes": [k.prefix for k in chosen]})
    return chosen


def list_users(session: Session) -> list[User]:
    """Every dashboard user, by name."""
    return users.all_users(session)


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key secret (live, expired and revoked), by name; the secret is never
    stored."""
    return api_keys.all_keys(session)


def changes(session: Session, *, target: str | None = None, actor: str | None = None,
            before_id: int | None = None, limit: int = 100) -> list[AdminEntry]:
    """The administration log, newest first (of one user or key name, by one actor)."""
    return admin_log.entries(session, target=target, actor=actor, before_id=before_id,
                             limit=limit)
