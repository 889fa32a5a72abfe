"""Whether the database answers: the readiness probe's one statement."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_ONE = text("SELECT 1")


def ping(session: Session) -> None:
    """Ask the database for one row; raises SQLAlchemy's error when it cannot be reached."""
    session.execute(_ONE)
