"""Read-side queries: episodes for worklists and integrations, with keyset pagination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from pathway.models import Episode, Patient


@dataclass(frozen=True)
class EpisodeFilter:
    """What a caller may filter episodes by."""

    state: str | None = None
    overdue_at: dt.datetime | None = None  # only episodes with a milestone overdue by then
    coordinator: str | None = None
    mrn: str | None = None
    due_before: dt.datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Position after the last row of a page, in "most overdue first" order."""

    no_overdue: bool
    overdue_at: dt.datetime | None
    episode_id: int

    def encode(self) -> str:
        """An opaque string for the next page."""
        at = self.overdue_at.isoformat() if self.overdue_at else ""
        return f"{int(self.no_overdue)}|{at}|{self.episode_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor; raises ValueError when malformed."""
        flag, at, ident = text.split("|")
        overdue = dt.datetime.fromisoformat(at) if at else None
        if overdue is not None and overdue.tzinfo is None:
            raise ValueError("cursor time lacks a zone")
        return cls(flag == "1", overdue, int(ident))


def _filtered(query: Select[tuple[Episode]], f: EpisodeFilter) -> Select[tuple[Episode]]:
    if f.state:
        query = query.where(Episode.state == f.state)
    if f.coordinator:
        query = query.where(Episode.coordinator == f.coordinator)
    if f.mrn:
        query = query.join(Patient, Patient.id == Episode.patient_id).where(Patient.mrn == f.mrn)
    if f.overdue_at is not None:
        query = query.where(Episode.next_overdue_at <= f.overdue_at)
    if f.due_before is not None:
        query = query.where(Episode.next_overdue_at < f.due_before)
    return query


def _after(cursor: Cursor) -> ColumnElement[bool]:
    no_overdue = Episode.next_overdue_at.is_(None)
    if cursor.no_overdue:
        return and_(no_overdue, Episode.id > cursor.episode_id)
    return or_(
        no_overdue,
        Episode.next_overdue_at > cursor.overdue_at,
        and_(Episode.next_overdue_at == cursor.overdue_at, Episode.id > cursor.episode_id),
    )


def list_episodes(
    session: Session, *, where: EpisodeFilter, limit: int = 50, after: Cursor | None = None
) -> tuple[list[Episode], Cursor | None]:
    """A page of episodes, most overdue first; returns the page and the next page's cursor."""
    no_overdue = Episode.next_overdue_at.is_(None)
    query = _filtered(select(Episode), where)
    if after is not None:
        query = query.where(_after(after))
    query = query.order_by(no_overdue, Episode.next_overdue_at, Episode.id).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    nxt = Cursor(last.next_overdue_at is None, last.next_overdue_at, last.id)
    return rows[:limit], nxt

