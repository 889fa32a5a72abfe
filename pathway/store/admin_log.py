"""The administration log as remembered: who changed who may use the product (users,
passwords, roles, API keys, sessions), append-only (the database refuses UPDATE and DELETE).
Never a password or a key's secret: only names, roles and prefixes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pathway.store.models import AdminRecord
from pathway.store.tables import table_of

_A = table_of(AdminRecord)


@dataclass(frozen=True)
class AdminEntry:
    """One change, as listed."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None


def add(session: Session, *, at: dt.datetime, actor: str, action: str, target: str,
        detail: dict[str, Any] | None = None) -> None:
    """Write one change down."""
    session.execute(insert(_A).values(at=at, actor=actor, action=action, target=target,
                                      detail=detail))


def entries(session: Session, *, target: str | None = None, actor: str | None = None,
            before_id: int | None = None, limit: int = 100) -> list[AdminEntry]:
    """The changes, newest first, optionally of one target or by one actor; paged by id."""
    statement = select(_A.c.id, _A.c.at, _A.c.actor, _A.c.action, _A.c.target, _A.c.detail)
    if target is not None:
        statement = statement.where(_A.c.target == target)
    if actor is not None:
        statement = statement.where(_A.c.actor == actor)
    if before_id is not None:
        statement = statement.where(_A.c.id < before_id)
    return [AdminEntry(*row) for row in
            session.execute(statement.order_by(_A.c.id.desc()).limit(limit))]
