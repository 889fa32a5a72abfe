"""ORM objects a session holds while the store writes their rows with Core."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pathway.store.models import Episode, Milestone, Reminder


def refresh_held(session: Session, episode_id: int) -> None:
    """The store writes with Core: an Episode the session holds is refreshed, and its
    milestones and reminders reload on next use."""
    for held in list(session.identity_map.values()):
        if isinstance(held, Episode) and held.id == episode_id:
            session.refresh(held)
        elif isinstance(held, Milestone | Reminder) and held.episode_id == episode_id:
            session.expire(held)
