"""Delivering the outbox: which rows go now, what an attempt's outcome does to them, and the
operator's view (list, retry) of pending, delivered and dead-letter rows.

The sending itself (HTTP, SMTP) lives in `scheduler/`; this module only moves rows between
states, so the rules are testable without I/O:

- A sender *leases* due rows: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
  processes share the outbox. Leasing pushes `next_attempt_at` to the lease's end, so a
  sender that dies mid-send (SIGKILL) leaves rows that simply fall due again; one indexed
  query on `ix_deliveries_pending` finds both new rows and expired leases.
- Every attempt is kept in `delivery_attempts`. A failure is retried with exponential backoff
  and jitter; after `max_attempts` the row becomes a dead letter, which an operator can retry.
- Delivery is at least once: a sender that delivered but died before recording it delivers
  again after the lease; receivers drop duplicates by the stable `delivery_key`.
- Messages to the coordinator about a snoozed reminder are *held*: their next attempt moves
  to the end of the snooze, without counting an attempt (see `pathway.escalation`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import Session

from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.models import Delivery, DeliveryAttempt, Reminder, WebhookSubscription
from pathway.outbox import (
    COORDINATOR_TOPICS,
    DEAD,
    DELIVERED,
    DELIVERY_STATUSES,
    PENDING,
)
from pathway.reminders import record_action
from pathway.vocabulary import ReminderStatus

WEBHOOK = "webhook"
EMAIL = "email"
CHANNELS = (WEBHOOK, EMAIL)
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns
# A literal, not a bound parameter, so the planner always matches the partial index.
_PENDING_SQL: ColumnElement[str] = literal_column(f"'{PENDING}'")


@dataclass(frozen=True)
class Outgoing:
    """One leased message, detached from the session: everything a channel needs to send it."""

    id: int
    key: str
    topic: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempt: int
    reminder_id: int | None
    url: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class Lease:
    """What one lease took: messages to send now, and how many were held or dead-lettered."""

    outgoing: list[Outgoing]
    held: int
    dead: int


class OutcomeKind(StrEnum):
    """What happened to one leased message."""

    DELIVERED = "delivered"
    FAILED = "failed"  # worth retrying (timeout, 5xx, connection refused)
    REJECTED = "rejected"  # never worth retrying as is (no such subscription): dead at once
    DEFERRED = "deferred"  # not attempted this round (its endpoint just failed; lease ran out)


@dataclass(frozen=True)
class Outcome:
    """The outcome of sending one message; `detail` is kept with the attempt."""

    delivery_id: int
    kind: OutcomeKind
    detail: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and the number of attempts before a dead letter."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float = 6 * 3600.0

    def delay(self, attempts: int, rng: random.Random) -> dt.timedelta:
        """The wait after the `attempts`-th failure: base * 2^(n-1), capped, then jittered
        into [half, whole] so that senders that failed together do not retry together."""
        step = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=step * (0.5 + rng.random() / 2))


@dataclass(frozen=True)
class RecordedOutcomes:
    """Counts of what `record_outcomes` did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _snoozed_until(
    session: Session, reminder_ids: set[int], now: dt.datetime
) -> dict[int, dt.datetime]:
    if not reminder_ids:
        return {}
    query = select(Reminder.id, Reminder.snoozed_until).where(
        Reminder.id.in_(reminder_ids), Reminder.status == ReminderStatus.SNOOZED.value,
        Reminder.snoozed_until > now,
    )
    return {rid: until for rid, until in session.execute(query) if until is not None}


def _subscriptions(session: Session, rows: Iterable[Delivery]) -> dict[str, WebhookSubscription]:
    ids = {int(r.target) for r in rows if r.channel == WEBHOOK and r.target.isdigit()}
    if not ids:
        return {}
    query = select(WebhookSubscription).where(WebhookSubscription.id.in_(ids))
    return {str(s.id): s for s in session.scalars(query)}


def _attempt(session: Session, row: Delivery, *, ok: bool, detail: str, now: dt.datetime) -> None:
    row.attempts += 1
    session.add(DeliveryAttempt(delivery_id=row.id, at=now, ok=ok, detail=detail[:2000]))


def _kill(row: Delivery, error: str) -> None:
    row.status = DEAD
    row.next_attempt_at = None
    row.leased_until = None
    row.leased_by = None
    row.last_error = error[:2000]


def lease_due(
    session: Session, *, now: dt.datetime, worker: str, limit: int, lease_seconds: float,
    channels: Collection[str] = CHANNELS,
) -> Lease:
    """Lease up to `limit` due messages on `channels` for `worker` (the caller commits at once,
    so other senders see the lease, then sends outside the transaction)."""
    query = (
        select(Delivery)
        .where(Delivery.status == _PENDING_SQL, Delivery.next_attempt_at <= now,
               Delivery.channel.in_(list(channels)))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if _is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    snoozed = _snoozed_until(
        session, {r.reminder_id for r in rows if r.reminder_id and r.topic in COORDINATOR_TOPICS},
        now)
    subscriptions = _subscriptions(session, rows)
    until = now + dt.timedelta(seconds=lease_seconds)
    outgoing: list[Outgoing] = []
    held = dead = 0
    for row in rows:
        if row.reminder_id in snoozed and row.topic in COORDINATOR_TOPICS:
            row.next_attempt_at = snoozed[row.reminder_id]
            held += 1
            continue
        sub = subscriptions.get(row.target) if row.channel == WEBHOOK else None
        if row.channel == WEBHOOK and (sub is None or not sub.active):
            error = f"webhook subscription {row.target} is missing or inactive"
            _attempt(session, row, ok=False, detail=error, now=now)
            _kill(row, error)
            dead += 1
            continue
        row.leased_until = until
        row.leased_by = worker
        row.next_attempt_at = until
        outgoing.append(Outgoing(
            id=row.id, key=row.delivery_key, topic=row.topic, channel=row.channel,
            target=row.target, payload=dict(row.payload), attempt=row.attempts + 1,
            reminder_id=row.reminder_id, url=sub.url if sub else None,
            secret=sub.secret if sub else None))
    session.flush()
    return Lease(outgoing=outgoing, held=held, dead=dead)


def record_outcomes(
    session: Session, outcomes: Sequence[Outcome], *, now: dt.datetime, worker: str,
    policy: RetryPolicy, rng: random.Random,
) -> RecordedOutcomes:
    """Record what a sender did with its leased messages: delivered, retried later, or dead.

    A row whose lease passed to another sender meanwhile only gets the attempt recorded (a
    success still marks it delivered: it was)."""
    by_id = {o.delivery_id: o for o in outcomes}
    if not by_id:
        return RecordedOutcomes()
    query = select(Delivery).where(Delivery.id.in_(by_id)).order_by(Delivery.id)
    if _is_postgresql(session):
        query = query.with_for_update()
    delivered = retrying = dead = deferred = 0
    for row in session.scalars(query):
        outcome = by_id[row.id]
        ours = row.status == PENDING and row.leased_by == worker
        if outcome.kind == OutcomeKind.DEFERRED:
            if ours:
                row.next_attempt_at = now + policy.delay(1, rng)
                row.leased_until = row.leased_by = None
            deferred += 1
            continue
        ok = outcome.kind == OutcomeKind.DELIVERED
        _attempt(session, row, ok=ok, detail=f"{outcome.detail} [{worker}]", now=now)
        if ok:
            if row.status != DELIVERED:
                row.status = DELIVERED
                row.delivered_at = now
            row.next_attempt_at = row.leased_until = row.leased_by = None
            row.last_error = None
            delivered += 1
        elif not ours:
            continue
        elif outcome.kind == OutcomeKind.REJECTED or row.attempts >= policy.max_attempts:
            _kill(row, outcome.detail)
            dead += 1
        else:
            row.next_attempt_at = now + policy.delay(row.attempts, rng)
            row.leased_until = row.leased_by = None
            row.last_error = outcome.detail[:2000]
            retrying += 1
    session.flush()
    return RecordedOutcomes(delivered=delivered, retrying=retrying, dead=dead, deferred=deferred)


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    """One outbox row or NotFound."""
    row = session.get(Delivery, delivery_id) if 0 < delivery_id <= MAX_ID else None
    if row is None:
        raise NotFound("delivery", delivery_id)
    return row


def list_deliveries(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[Delivery]:
    """Outbox rows, newest first, optionally of one status (`dead` lists the dead letters)."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidData("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidData("limit", "must be between 1 and 1000")
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query))


def list_attempts(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    """Every attempt made for one outbox row, oldest first."""
    get_delivery(session, delivery_id)
    query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(
        DeliveryAttempt.id)
    return list(session.scalars(query))


def retry_delivery(
    session: Session, *, delivery_id: int, actor: str, now: dt.datetime
) -> Delivery:
    """Send a dead letter (or a waiting row) again now, with a fresh allowance of attempts;
    its earlier attempts stay on record."""
    row = get_delivery(session, delivery_id)
    if row.status == DELIVERED:
        raise ActionRefused("retry", f"delivery {delivery_id}", row.status,
                            "it was delivered already")
    previous = row.status
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.leased_until = row.leased_by = None
    if row.reminder_id is not None:
        reminder = session.get_one(Reminder, row.reminder_id)
        record_action(session, reminder, actor=actor, action="delivery_retried", now=now,
                      detail={"delivery_id": row.id, "channel": row.channel,
                              "topic": row.topic, "was": previous})
    session.flush()
    return row
