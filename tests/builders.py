"""Builders for test data: intakes, episodes moved along a path, a fixed clock."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pathway.episodes import AppliedEvent, apply_event, get_episode, open_episode
from pathway.store.models import Episode

UTC = ZoneInfo("UTC")
DAY0 = dt.date(2026, 3, 2)
_mrns = itertools.count(1)


def at(day: int, hour: int = 9, day0: dt.date = DAY0) -> dt.datetime:
    """An instant on day `day` of an episode identified on `day0` (UTC)."""
    return dt.datetime.combine(day0 + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def intake(**overrides: Any) -> dict[str, Any]:
    """A valid intake assessment (intact, no red flags) with fields overridden."""
    data: dict[str, Any] = {
        "patient": {"mrn": f"MRN{next(_mrns):06d}", "name": "Test Patient"},
        "levels": ["L1"],
        "identified_on": DAY0.isoformat(),
        "cause": "osteoporotic",
        "neuro_exam": "intact",
        "red_flags": [],
        "pain_score": 6,
        "coordinator": "coordinator",
    }
    data.update(overrides)
    return data


def open_at(session: Session, day: int = 0, zone: ZoneInfo = UTC, **overrides: Any) -> Episode:
    """Open an episode (day 0 = DAY0 unless overridden) as seen on `day`; the ORM's object,
    which reloads after each event (the use cases expire what the session holds)."""
    opened = open_episode(session, intake=intake(**overrides), actor="test", now=at(day),
                          zone=zone)
    return get_episode(session, opened.id)


def send(
    session: Session, episode: Episode, event: str, day: int, zone: ZoneInfo = UTC,
    **data: Any,
) -> AppliedEvent:
    """Apply an event on day `day` of DAY0 (occurred and recorded that day)."""
    return apply_event(session, episode_id=episode.id, event=event, data=data, actor="test",
                       now=at(day), zone=zone, occurred_on=DAY0 + dt.timedelta(days=day))
