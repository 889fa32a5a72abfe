"""Delivering the outbox: which rows go now, what an attempt's outcome does to them, and the
operator's view (list, retry) of pending, delivered, dead-letter and skipped rows.

The sending itself (HTTP, SMTP) lives in `scheduler/`, and the queries that find the rows
(with their locks) in `pathway.store.deliveries`; this module only moves rows between states,
so the rules are testable without I/O:

- A sender *leases* due rows: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
  processes share the outbox. Leasing pushes `next_attempt_at` to the lease's end, so a
  sender that dies mid-send (SIGKILL) leaves rows that simply fall due again; one indexed
  query on `ix_deliveries_pending` finds both new rows and expired leases.
- Every attempt is kept in `delivery_attempts` and, for a message about a reminder, as a step
  of that reminder's history (`delivery_delivered`, `delivery_failed`, `delivery_dead`), in
  the same transaction (`pathway.delivery_history`): the history is where a clinician reads
  what happened to a reminder (PATHWAY.md: every delivery attempt shows there). A
  failure is retried with exponential backoff and jitter; after `max_attempts` the row
  becomes a dead letter, which an operator can retry.
- A message about a reminder that has been resolved is not sent: the lease marks it `skipped`
  (final) with a `delivery_skipped` history step, whatever its topic (raise, snooze end or
  escalation), so nobody is called about what no longer needs doing. It is not an attempt:
  nothing went out, so `delivery_attempts` and the failure counts are untouched.
- Delivery is at least once: a sender that delivered but died before recording it delivers
  again after the lease; receivers drop duplicates by the stable `delivery_key`.
- Messages to the coordinator about a snoozed reminder are *held*: their next attempt moves
  to the end of the snooze, without counting an attempt (see `pathway.escalation`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from pathway.delivery_history import FAILED, SKIP_REASON, history_error, record_step
from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.outbox import (
    COORDINATOR_TOPICS,
    DEAD,
    DELIVERED,
    DELIVERY_STATUSES,
    PENDING,
    SKIPPED,
)
from pathway.reminders import record_action
from pathway.store import deliveries as store
from pathway.store.deliveries import MAX_ID as MAX_ID
from pathway.store.deliveries import ReminderState
from pathway.store.models import Delivery, DeliveryAttempt, WebhookSubscription
from pathway.store.tallies import deliveries_by_channel
from pathway.vocabulary import ReminderStatus

WEBHOOK = "webhook"
EMAIL = "email"
CHANNELS = (WEBHOOK, EMAIL)
# What a lease or a recorded outcome did with a row (counts; not stored).
HELD = "held"
SEND = "send"
RETRYING = "retrying"
DEFERRED = "deferred"


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
    """What one lease took: messages to send now, and how many were held, dead-lettered or
    skipped (their reminder was resolved)."""

    outgoing: list[Outgoing]
    held: int
    dead: int
    skipped: int = 0


class OutcomeKind(StrEnum):
    """What happened to one leased message."""

    DELIVERED = "delivered"
    FAILED = "failed"  # worth retrying (timeout, 5xx, connection refused)
    REJECTED = "rejected"  # never worth retrying as is (no such subscription): dead at once
    DEFERRED = "deferred"  # not attempted this round (its endpoint just failed; lease ran out)


@dataclass(frozen=True)
class Outcome:
    """The outcome of sending one message; `detail` is kept with the attempt, and the
    receiver's answer (`status_code`: HTTP status, SMTP reply code) when there was one."""

    delivery_id: int
    kind: OutcomeKind
    detail: str = ""
    status_code: int | None = None


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


def _reminder_states(session: Session, rows: Iterable[Delivery]) -> dict[int, ReminderState]:
    return store.reminder_states(session, {r.reminder_id for r in rows
                                           if r.reminder_id is not None})


def _subscriptions(session: Session, rows: Iterable[Delivery]) -> dict[str, WebhookSubscription]:
    ids = {int(r.target) for r in rows if r.channel == WEBHOOK and r.target.isdigit()}
    return {str(sid): s for sid, s in store.subscriptions_by_id(session, ids).items()}


def _subscription_id(row: Delivery) -> int | None:
    return int(row.target) if row.channel == WEBHOOK and row.target.isdigit() else None


def _attempt(session: Session, row: Delivery, *, outcome: str, detail: str, now: dt.datetime,
             status_code: int | None = None, worker: str | None = None) -> None:
    """Keep one attempt twice in this transaction: for the operator (`delivery_attempts`,
    with the sender's name) and in the reminder's history, which is what a clinician reads."""
    row.attempts += 1
    ok = outcome == DELIVERED
    kept = f"{detail} [{worker}]" if worker else detail
    session.add(DeliveryAttempt(delivery_id=row.id, at=now, ok=ok, detail=kept[:2000]))
    record_step(session, row, outcome=outcome, now=now, subscription_id=_subscription_id(row),
                attempt=row.attempts, status_code=status_code,
                error=None if ok else history_error(detail))


def _kill(row: Delivery, error: str) -> None:
    row.status = DEAD
    row.next_attempt_at = None
    row.leased_until = None
    row.leased_by = None
    row.last_error = error[:2000]


def _skip(session: Session, row: Delivery, state: ReminderState, now: dt.datetime) -> None:
    """Never send a message whose reminder was resolved: final, and said in its history."""
    row.status = SKIPPED
    row.next_attempt_at = row.leased_until = row.leased_by = None
    record_step(session, row, outcome=SKIPPED, now=now, subscription_id=_subscription_id(row),
                attempt=None, status_code=None, error=None, reason=SKIP_REASON,
                resolution=state.resolution)


def _verdict(row: Delivery, state: ReminderState | None, sub: WebhookSubscription | None,
             now: dt.datetime) -> str:
    """What a lease does with one due row: skip it (its reminder is resolved, whatever the
    topic), hold it (a coordinator's message about a snoozed reminder), kill it (its
    subscription is gone) or send it."""
    if state is not None and state.status == ReminderStatus.RESOLVED.value:
        return SKIPPED
    if (state is not None and row.topic in COORDINATOR_TOPICS
            and state.status == ReminderStatus.SNOOZED.value
            and state.snoozed_until is not None and state.snoozed_until > now):
        return HELD
    if row.channel == WEBHOOK and (sub is None or not sub.active):
        return DEAD
    return SEND


def _set_aside(session: Session, row: Delivery, verdict: str, state: ReminderState | None,
               now: dt.datetime) -> None:
    """Apply a verdict other than `SEND` to its row (skip and hold come with a reminder)."""
    if verdict == DEAD:
        error = f"webhook subscription {row.target} is missing or inactive"
        _attempt(session, row, outcome=DEAD, detail=error, now=now)
        _kill(row, error)
    elif state is not None and verdict == SKIPPED:
        _skip(session, row, state, now)
    elif state is not None and verdict == HELD:
        row.next_attempt_at = state.snoozed_until  # held, not attempted


def _take(row: Delivery, sub: WebhookSubscription | None, *, worker: str,
          until: dt.datetime) -> Outgoing:
    row.leased_until = until
    row.leased_by = worker
    row.next_attempt_at = until
    return Outgoing(
        id=row.id, key=row.delivery_key, topic=row.topic, channel=row.channel,
        target=row.target, payload=dict(row.payload), attempt=row.attempts + 1,
        reminder_id=row.reminder_id, url=sub.url if sub else None,
        secret=sub.secret if sub else None)


def lease_due(
    session: Session, *, now: dt.datetime, worker: str, limit: int, lease_seconds: float,
    channels: Collection[str] = CHANNELS,
) -> Lease:
    """Lease up to `limit` due messages on `channels` for `worker` (the caller commits at once,
    so other senders see the lease, then sends outside the transaction). Whether a message's
    reminder is resolved is read here, as late as the sender can look before sending."""
    rows = store.due_deliveries(session, now=now, channels=channels, limit=limit)
    states = _reminder_states(session, rows)
    subscriptions = _subscriptions(session, rows)
    until = now + dt.timedelta(seconds=lease_seconds)
    outgoing: list[Outgoing] = []
    counts: Counter[str] = Counter()
    for row in rows:
        state = states.get(row.reminder_id) if row.reminder_id is not None else None
        sub = subscriptions.get(row.target) if row.channel == WEBHOOK else None
        verdict = _verdict(row, state, sub, now)
        counts[verdict] += 1
        if verdict == SEND:
            outgoing.append(_take(row, sub, worker=worker, until=until))
        else:
            _set_aside(session, row, verdict, state, now)
    session.flush()
    return Lease(outgoing=outgoing, held=counts[HELD], dead=counts[DEAD],
                 skipped=counts[SKIPPED])


def _record(
    session: Session, row: Delivery, outcome: Outcome, *, now: dt.datetime, worker: str,
    policy: RetryPolicy, rng: random.Random,
) -> str:
    """Apply one outcome to its row; returns the count it adds to ("" for none: a failure on
    a row whose lease passed to another sender only keeps its attempt)."""
    ours = row.status == PENDING and row.leased_by == worker
    if outcome.kind == OutcomeKind.DEFERRED:
        if ours:
            row.next_attempt_at = now + policy.delay(1, rng)
            row.leased_until = row.leased_by = None
        return DEFERRED
    if outcome.kind == OutcomeKind.DELIVERED:
        _attempt(session, row, outcome=DELIVERED, detail=outcome.detail, now=now,
                 status_code=outcome.status_code, worker=worker)
        if row.status != DELIVERED:  # a success still marks it delivered: it was
            row.status = DELIVERED
            row.delivered_at = now
        row.next_attempt_at = row.leased_until = row.leased_by = None
        row.last_error = None
        return DELIVERED
    dies = ours and (outcome.kind == OutcomeKind.REJECTED
                     or row.attempts + 1 >= policy.max_attempts)
    _attempt(session, row, outcome=DEAD if dies else FAILED, detail=outcome.detail, now=now,
             status_code=outcome.status_code, worker=worker)
    if not ours:
        return ""
    if dies:
        _kill(row, outcome.detail)
        return DEAD
    row.next_attempt_at = now + policy.delay(row.attempts, rng)
    row.leased_until = row.leased_by = None
    row.last_error = outcome.detail[:2000]
    return RETRYING


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
    counts: Counter[str] = Counter()
    for row in store.deliveries_to_record(session, by_id):
        counts[_record(session, row, by_id[row.id], now=now, worker=worker, policy=policy,
                       rng=rng)] += 1
    session.flush()
    return RecordedOutcomes(delivered=counts[DELIVERED], retrying=counts[RETRYING],
                            dead=counts[DEAD], deferred=counts[DEFERRED])


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    """One outbox row or NotFound."""
    row = store.delivery(session, delivery_id)
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
    return store.newest_deliveries(session, status=status, limit=limit)


def count_by_channel(session: Session, status: str) -> list[tuple[str, int]]:
    """How many outbox rows have `status`, per channel, by channel name (for the metrics)."""
    return deliveries_by_channel(session, status=status)


def list_attempts(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    """Every attempt made for one outbox row, oldest first."""
    get_delivery(session, delivery_id)
    return store.attempts_of(session, delivery_id)


def retry_delivery(
    session: Session, *, delivery_id: int, actor: str, now: dt.datetime
) -> Delivery:
    """Send a dead letter (or a waiting row) again now, with a fresh allowance of attempts;
    its earlier attempts stay on record."""
    row = get_delivery(session, delivery_id)
    if row.status in (DELIVERED, SKIPPED):
        why = ("it was delivered already" if row.status == DELIVERED
               else "its reminder was resolved before it was sent")
        raise ActionRefused("retry", f"delivery {delivery_id}", row.status, why)
    previous = row.status
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.leased_until = row.leased_by = None
    if row.reminder_id is not None:
        reminder = store.reminder_about(session, row.reminder_id)
        record_action(session, reminder, actor=actor, action="delivery_retried", now=now,
                      detail={"delivery_id": row.id, "channel": row.channel,
                              "topic": row.topic, "was": previous})
    session.flush()
    return row
