"""Users (dashboard logins, argon2 hashes) and API keys (stored as SHA-256, shown once)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from pathway.errors import Duplicate, InvalidData, NotFound
from pathway.store import api_keys, users
from pathway.store.api_keys import LiveKey
from pathway.store.models import ApiKey, User
from pathway.vocabulary import Role

_hasher = PasswordHasher()
KEY_PREFIX = "pw_"


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
    email: str | None = None, display_name: str | None = None,
) -> User:
    """Add a dashboard user with an argon2 password hash."""
    if not username or len(username) > 80:
        raise InvalidData("username", "must be 1-80 characters")
    if len(password) < 8:
        raise InvalidData("password", "must be at least 8 characters")
    if users.user_exists(session, username):
        raise Duplicate("user", username)
    user = User(username=username, password_hash=_hasher.hash(password), role=_role(role).value,
                email=email, display_name=display_name, active=True, created_at=now)
    session.add(user)
    session.flush()
    return user


def verify_user(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = users.active_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def hash_key(raw: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(
    session: Session, *, name: str, role: str, now: dt.datetime
) -> tuple[ApiKey, str]:
    """Add an API key; returns the row and the raw key (shown once, never stored)."""
    if not name or len(name) > 80:
        raise InvalidData("name", "must be 1-80 characters")
    if api_keys.key_name_taken(session, name):
        raise Duplicate("api key", name)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_hash=hash_key(raw), prefix=raw[:10], role=_role(role).value,
                 created_at=now)
    session.add(key)
    session.flush()
    return key, raw


def find_api_key(session: Session, raw: str) -> LiveKey | None:
    """The live key matching a presented secret, or None (every API request asks: read on
    the driver's cursor, `pathway.store.sql`)."""
    return api_keys.live_key(session, hash_key(raw))


def revoke_api_key(session: Session, *, name: str, now: dt.datetime) -> ApiKey:
    """Revoke a key by name."""
    key = api_keys.key_named(session, name)
    if key is None:
        raise NotFound("api key", name)
    key.revoked_at = now
    session.flush()
    return key


def set_password(session: Session, *, username: str, password: str) -> User:
    """Replace a user's password."""
    user = users.user_named(session, username)
    if user is None:
        raise NotFound("user", username)
    if len(password) < 8:
        raise InvalidData("password", "must be at least 8 characters")
    user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every dashboard user, by name."""
    return users.all_users(session)


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key (live and revoked), by name; the secret is never stored."""
    return api_keys.all_keys(session)
