"""Data the fault tests start from, written straight to the database (as an admin would)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, update

from pathway import access
from pathway.clock import utc_now
from pathway.episodes import open_episode
from pathway.store.db import make_sessionmaker, transaction
from pathway.store.models import Milestone
from pathway.vocabulary import MilestoneKind, MilestoneStatus
from tests.builders import intake
from tests.scheduler.support import subscribe

UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Seeded:
    """An integration key (and its name), the episodes opened, the subscription's id."""

    key: str
    key_name: str
    episode_ids: list[int]
    subscription_id: int | None


def seed(engine: Engine, *, episodes: int, receiver_url: str | None = None,
         role: str = "integration", days_ago: int = 1, key_name: str = "load") -> Seeded:
    """A key, webhook subscriptions to every reminder and to every event (if a receiver is
    given) and `episodes` episodes identified `days_ago` days ago, so that nothing is due for
    weeks."""
    now = utc_now()
    day0 = (now - dt.timedelta(days=days_ago)).date()
    with transaction(make_sessionmaker(engine)) as session:
        _key, raw = access.create_api_key(session, name=key_name, role=role, now=now)
        sub = None
        if receiver_url:  # one subscription to every reminder, one to every event
            sub = subscribe(session, receiver_url, now=now - dt.timedelta(minutes=1))
            events = subscribe(session, receiver_url, now=now - dt.timedelta(minutes=1))
            events.event_names = ["*"]
        ids = [open_episode(session, intake=intake(identified_on=day0.isoformat()),
                            actor="test", now=now, zone=UTC).id for _ in range(episodes)]
    return Seeded(raw, key_name, ids, sub.id if sub else None)


def force_due(engine: Engine, episode_ids: list[int], at: dt.datetime) -> list[int]:
    """Make the open liaison-monitoring milestones of these episodes fall due at `at` (as if
    112 days had passed); returns their ids. The load never sends what would meet them."""
    if not episode_ids:
        return []
    with transaction(make_sessionmaker(engine)) as session:
        rows = session.execute(
            update(Milestone)
            .where(Milestone.episode_id.in_(episode_ids),
                   Milestone.kind == MilestoneKind.LIAISON_MONITORING.value,
                   Milestone.status == MilestoneStatus.OPEN.value)
            .values(next_alert_at=at)
            .returning(Milestone.id)
        ).scalars().all()
    return list(rows)
