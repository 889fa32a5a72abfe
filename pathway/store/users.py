"""Dashboard users as remembered: the active user behind a login, a user by name (active or
not), whether a name is taken, everyone by name, and the active users of some roles (the
intake form's coordinators). Statements are built once. (Choosing and checking passwords, and
roles, are decisions of `pathway.access`.)"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pathway.store.models import User

_ACTIVE_BY_NAME = select(User).where(User.username == bindparam("username"),
                                     User.active.is_(True))
_BY_NAME = select(User).where(User.username == bindparam("username"))
_ID_BY_NAME = select(User.id).where(User.username == bindparam("username"))
_EVERYONE = select(User).order_by(User.username)
_ACTIVE_IN_ROLES = (select(User)
                    .where(User.active.is_(True), User.role.in_(bindparam("roles", expanding=True)))
                    .order_by(User.username))


def active_user(session: Session, username: str) -> User | None:
    """The active user with this name, or None (unknown or deactivated)."""
    return session.scalar(_ACTIVE_BY_NAME, {"username": username})


def user_named(session: Session, username: str) -> User | None:
    """The user with this name, active or not, or None."""
    return session.scalar(_BY_NAME, {"username": username})


def user_exists(session: Session, username: str) -> bool:
    """Whether a user (active or not) has this name."""
    return session.scalar(_ID_BY_NAME, {"username": username}) is not None


def all_users(session: Session) -> list[User]:
    """Every dashboard user (active or not), by name."""
    return list(session.scalars(_EVERYONE))


def active_users_in_roles(session: Session, roles: Collection[str]) -> list[User]:
    """The active users whose role is one of `roles`, by name (e.g. who may coordinate)."""
    return list(session.scalars(_ACTIVE_IN_ROLES, {"roles": list(roles)}))
