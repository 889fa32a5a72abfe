"""Outbox rows as the senders and the operator find them. Statements are built once.

- The rows a lease takes: pending and due on some channels, oldest due first, through the
  partial index `ix_deliveries_pending`; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
  several senders share the outbox without waiting on each other.
- The rows an outcome is recorded on, locked (`FOR UPDATE` on PostgreSQL) in id order.
- What a lease needs of the reminders and webhook subscriptions its rows name, and which
  targets still have a message about a reminder waiting.
- The operator's reads: one row, the newest rows (of one status), a row's attempts.

(What a lease or an outcome does with a row is `pathway.deliveries`.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, bindparam, literal_column, select
from sqlalchemy.orm import Session

from pathway.store.models import Delivery, DeliveryAttempt, Reminder, WebhookSubscription
from pathway.store.outbox import PENDING

#: The largest id a delivery can have: ids are 32-bit INTEGER columns, and a larger one would
#: be a driver error on PostgreSQL rather than "not found".
MAX_ID = 2**31 - 1

# A literal, not a bound parameter, so the planner always matches the partial index.
_PENDING_SQL: ColumnElement[str] = literal_column(f"'{PENDING}'")
_DUE = (
    select(Delivery)
    .where(Delivery.status == _PENDING_SQL, Delivery.next_attempt_at <= bindparam("now"),
           Delivery.channel.in_(bindparam("channels", expanding=True)))
    .order_by(Delivery.next_attempt_at, Delivery.id)
    .limit(bindparam("limit"))
)
_DUE_SKIPPING_LOCKED = _DUE.with_for_update(skip_locked=True)
_BY_IDS = select(Delivery).where(Delivery.id.in_(bindparam("ids", expanding=True))).order_by(
    Delivery.id)
_BY_IDS_LOCKED = _BY_IDS.with_for_update()
_REMINDER_STATES = select(Reminder.id, Reminder.status, Reminder.snoozed_until,
                          Reminder.resolution).where(
    Reminder.id.in_(bindparam("ids", expanding=True)))
_SUBSCRIPTIONS = select(WebhookSubscription).where(
    WebhookSubscription.id.in_(bindparam("ids", expanding=True)))
_WAITING_TARGETS = select(Delivery.channel, Delivery.target).where(
    Delivery.reminder_id == bindparam("reminder_id"), Delivery.status == PENDING,
    Delivery.topic.in_(bindparam("topics", expanding=True)))
_NEWEST_FIRST = select(Delivery).order_by(Delivery.id.desc())
_ATTEMPTS = (select(DeliveryAttempt)
             .where(DeliveryAttempt.delivery_id == bindparam("delivery_id"))
             .order_by(DeliveryAttempt.id))


@dataclass(frozen=True)
class ReminderState:
    """What a lease needs to know of the reminder a message is about."""

    status: str
    snoozed_until: dt.datetime | None
    resolution: str | None


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def due_deliveries(session: Session, *, now: dt.datetime, channels: Collection[str],
                   limit: int) -> list[Delivery]:
    """Up to `limit` pending rows due by `now` on `channels`, oldest due first; rows another
    sender holds are skipped (PostgreSQL), and those taken stay locked until the commit."""
    query = _DUE_SKIPPING_LOCKED if _on_postgresql(session) else _DUE
    return list(session.scalars(query, {"now": now, "channels": list(channels),
                                        "limit": limit}))


def deliveries_to_record(session: Session, delivery_ids: Collection[int]) -> list[Delivery]:
    """The rows with these ids, in id order, locked until the commit (PostgreSQL)."""
    query = _BY_IDS_LOCKED if _on_postgresql(session) else _BY_IDS
    return list(session.scalars(query, {"ids": list(delivery_ids)}))


def reminder_states(session: Session, reminder_ids: Collection[int]) -> dict[int, ReminderState]:
    """The status, snooze end and resolution of each of these reminders, by id."""
    if not reminder_ids:
        return {}
    found = session.execute(_REMINDER_STATES, {"ids": list(reminder_ids)})
    return {rid: ReminderState(status, until, resolution)
            for rid, status, until, resolution in found}


def subscriptions_by_id(session: Session,
                        subscription_ids: Collection[int]) -> dict[int, WebhookSubscription]:
    """The webhook subscriptions (active or not) with these ids, by id."""
    if not subscription_ids:
        return {}
    return {s.id: s for s in session.scalars(_SUBSCRIPTIONS, {"ids": list(subscription_ids)})}


def waiting_targets(session: Session, reminder_id: int,
                    topics: Collection[str]) -> set[tuple[str, str]]:
    """The (channel, target) pairs with a pending message of one of `topics` about this
    reminder."""
    found = session.execute(_WAITING_TARGETS, {"reminder_id": reminder_id,
                                               "topics": list(topics)})
    return {(channel, target) for channel, target in found}


def delivery(session: Session, delivery_id: int) -> Delivery | None:
    """The outbox row with this id, or None (also for an id no row can have)."""
    if not 0 < delivery_id <= MAX_ID:
        return None
    return session.get(Delivery, delivery_id)


def newest_deliveries(session: Session, *, status: str | None, limit: int) -> list[Delivery]:
    """The newest `limit` outbox rows, newest first; only those in `status` if given."""
    query: Select[Delivery] = _NEWEST_FIRST.limit(limit)
    if status is not None:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query))


def attempts_of(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    """Every attempt made for one outbox row, oldest first."""
    return list(session.scalars(_ATTEMPTS, {"delivery_id": delivery_id}))


def reminder_about(session: Session, reminder_id: int) -> Reminder:
    """The reminder a message is about (its row exists: the outbox row's foreign key)."""
    return session.get_one(Reminder, reminder_id)
