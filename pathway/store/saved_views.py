"""The worklist views users saved: a name and the filters' query string, per user."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pathway.store.models import SavedView


def views_of(session: Session, username: str) -> list[SavedView]:
    """A user's saved views, by name."""
    return list(session.scalars(select(SavedView).where(SavedView.username == username)
                                .order_by(SavedView.name)))


def save_view(session: Session, *, username: str, name: str, query: str,
              now: dt.datetime) -> SavedView:
    """Save a view under `name`, replacing the user's view of that name."""
    view = session.scalar(select(SavedView).where(SavedView.username == username,
                                                  SavedView.name == name))
    if view is None:
        view = SavedView(username=username, name=name, query=query, created_at=now)
        session.add(view)
    else:
        view.query, view.created_at = query, now
    session.flush()
    return view


def delete_view(session: Session, *, username: str, view_id: int) -> bool:
    """Delete one of the user's views; whether there was one."""
    done = session.execute(delete(SavedView).where(SavedView.id == view_id,
                                                   SavedView.username == username))
    return bool(getattr(done, "rowcount", 0))
