"""Counts over the whole database by one label: events by name, episodes by state, reminders
by kind, deliveries and failed delivery attempts by channel.

The Prometheus metrics are made of them (counted from the database, so right however many
processes run), and the simulator reports its cohort's reminders with them. Each tally is
sorted by its label.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from pathway.store.models import Delivery, DeliveryAttempt, Episode, EventRecord, Reminder

#: (label, count) pairs, sorted by label.
Tally = list[tuple[str, int]]

_EPISODE_COUNT = select(func.count()).select_from(Episode)
_EVENTS_BY_NAME = select(EventRecord.name, func.count()).group_by(EventRecord.name)
_EPISODES_BY_STATE = select(Episode.state, func.count()).group_by(Episode.state)
_REMINDERS_BY_KIND = select(Reminder.kind, func.count()).group_by(Reminder.kind)
_REMINDERS_IN_STATUSES_BY_KIND = _REMINDERS_BY_KIND.where(
    Reminder.status.in_(bindparam("statuses", expanding=True)))
_DELIVERIES_BY_CHANNEL = (select(Delivery.channel, func.count())
                          .where(Delivery.status == bindparam("status"))
                          .group_by(Delivery.channel))
_REMINDER_DELIVERIES_BY_CHANNEL = _DELIVERIES_BY_CHANNEL.where(Delivery.reminder_id.is_not(None))
_FAILED_ATTEMPTS_BY_CHANNEL = (select(Delivery.channel, func.count())
                               .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
                               .where(DeliveryAttempt.ok.is_(False))
                               .group_by(Delivery.channel))


def _tally(session: Session, query: Select[str, int],
           params: dict[str, Any] | None = None) -> Tally:
    return sorted((str(label), int(n)) for label, n in session.execute(query, params))


def episode_count(session: Session) -> int:
    """How many episodes the database holds (none: a fresh database)."""
    return int(session.scalar(_EPISODE_COUNT) or 0)


def events_by_name(session: Session) -> Tally:
    """Every event recorded (openings, transitions, facts), by name."""
    return _tally(session, _EVENTS_BY_NAME)


def episodes_by_state(session: Session) -> Tally:
    """Episodes by their current state."""
    return _tally(session, _EPISODES_BY_STATE)


def reminders_by_kind(session: Session, *, statuses: Collection[str] | None = None) -> Tally:
    """Reminders ever raised, by kind; only those now in `statuses` if given."""
    if statuses is None:
        return _tally(session, _REMINDERS_BY_KIND)
    return _tally(session, _REMINDERS_IN_STATUSES_BY_KIND, {"statuses": list(statuses)})


def deliveries_by_channel(session: Session, *, status: str,
                          reminders_only: bool = False) -> Tally:
    """Deliveries in `status`, by channel; only reminders' messages if `reminders_only`."""
    query = _REMINDER_DELIVERIES_BY_CHANNEL if reminders_only else _DELIVERIES_BY_CHANNEL
    return _tally(session, query, {"status": status})


def failed_attempts_by_channel(session: Session) -> Tally:
    """Delivery attempts that failed, by the channel of their delivery."""
    return _tally(session, _FAILED_ATTEMPTS_BY_CHANNEL)
