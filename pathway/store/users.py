"""Dashboard users as the edges look them up: the active user behind a login session, and
whether a user name is taken. (Creating users and checking passwords is `pathway.access`.)"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pathway.models import User

_ACTIVE_BY_NAME = select(User).where(User.username == bindparam("username"),
                                     User.active.is_(True))
_ID_BY_NAME = select(User.id).where(User.username == bindparam("username"))


def active_user(session: Session, username: str) -> User | None:
    """The active user with this name, or None (unknown or deactivated)."""
    return session.scalar(_ACTIVE_BY_NAME, {"username": username})


def user_exists(session: Session, username: str) -> bool:
    """Whether a user (active or not) has this name."""
    return session.scalar(_ID_BY_NAME, {"username": username}) is not None
