"""What an episode's export (the FHIR Bundle) reads besides the episode and its milestones:
why it was closed, the therapies recorded, and the osteoporosis therapy declined."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pathway.store.models import EventRecord, TherapyRecord
from pathway.vocabulary import Fact, TransitionEvent

_CLOSE_DATA = select(EventRecord.data).where(
    EventRecord.episode_id == bindparam("episode_id"),
    EventRecord.name == TransitionEvent.CLOSE.value)
_THERAPIES = (select(TherapyRecord).where(TherapyRecord.episode_id == bindparam("episode_id"))
              .order_by(TherapyRecord.id))
_DECLINES = (select(EventRecord).where(EventRecord.episode_id == bindparam("episode_id"),
                                       EventRecord.name == Fact.DECLINE_THERAPY.value)
             .order_by(EventRecord.seq))


def close_data(session: Session, episode_id: int) -> dict[str, Any] | None:
    """The data recorded with the episode's `close` event (its reason), if it was closed."""
    data: dict[str, Any] | None = session.scalar(_CLOSE_DATA, {"episode_id": episode_id})
    return data


def therapies(session: Session, episode_id: int) -> list[TherapyRecord]:
    """The therapies recorded on the episode, in the order they were recorded."""
    return list(session.scalars(_THERAPIES, {"episode_id": episode_id}))


def declined_therapies(session: Session, episode_id: int) -> list[EventRecord]:
    """The episode's `decline_therapy` facts, oldest first."""
    return list(session.scalars(_DECLINES, {"episode_id": episode_id}))
