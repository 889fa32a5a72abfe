"""The outbox: deliveries queued in the same transaction as the change that caused them.

Each row is one message on one channel to one target, with a stable `delivery_key` that the
receiver uses to drop duplicates (the webhook-id header; the e-mail Message-ID). Senders in
`scheduler/` lease rows, retry with backoff and mark dead letters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway.models import Delivery, Episode, EventRecord, Reminder, User, WebhookSubscription

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


def reminder_payload(reminder: Reminder, episode: Episode, topic: str) -> dict[str, Any]:
    """The message body for a reminder: ids and rule, no patient identifiers."""
    return {
        "type": topic,
        "reminder": {
            "id": reminder.id,
            "kind": reminder.kind,
            "priority": reminder.priority,
            "due_on": reminder.due_on.isoformat(),
            "status": reminder.status,
            "rule": reminder.rule,
            "seeds": list(reminder.seeds),
        },
        "episode": {"id": episode.id, "state": episode.state, "coordinator": episode.coordinator},
    }


def _queue(
    session: Session, *, key: str, topic: str, channel: str, target: str,
    payload: dict[str, Any], now: dt.datetime, reminder_id: int | None = None,
    event_id: int | None = None,
) -> None:
    session.add(
        Delivery(
            delivery_key=key, topic=topic, channel=channel, target=target,
            reminder_id=reminder_id, event_id=event_id, payload=payload, status=PENDING,
            attempts=0, next_attempt_at=now, created_at=now,
        )
    )


def _subscriptions(session: Session) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    return list(session.scalars(query))


def enqueue_reminder(
    session: Session, *, reminder: Reminder, episode: Episode, topic: str, now: dt.datetime,
    email_to: str | None = None,
) -> None:
    """Queue a raised or escalated reminder for every matching webhook and the coordinator's
    e-mail (or `email_to`, the lead clinician's address for escalations)."""
    payload = reminder_payload(reminder, episode, topic)
    for sub in _subscriptions(session):
        if sub.reminder_kinds and reminder.kind not in sub.reminder_kinds and (
            topic not in sub.reminder_kinds
        ):
            continue
        if not sub.reminder_kinds and sub.event_names:
            continue  # subscribed to episode events only
        _queue(session, key=f"{topic}-{reminder.id}-wh{sub.id}", topic=topic,
               channel="webhook", target=str(sub.id), payload=payload, now=now,
               reminder_id=reminder.id)
    address = email_to
    if address is None and episode.coordinator:
        address = session.scalar(
            select(User.email).where(User.username == episode.coordinator, User.active.is_(True))
        )
    if address:
        _queue(session, key=f"{topic}-{reminder.id}-mail", topic=topic, channel="email",
               target=address, payload=payload, now=now, reminder_id=reminder.id)


def enqueue_event(session: Session, *, event: EventRecord, now: dt.datetime) -> None:
    """Queue an episode event for the webhooks subscribed to its name."""
    payload = {
        "type": "episode.event",
        "event": {
            "id": event.id, "episode_id": event.episode_id, "name": event.name,
            "occurred_on": event.occurred_on.isoformat(), "source": event.source_state,
            "target": event.target_state, "seq": event.seq,
        },
    }
    for sub in _subscriptions(session):
        if event.name in sub.event_names or "*" in sub.event_names:
            _queue(session, key=f"event-{event.id}-wh{sub.id}", topic="episode.event",
                   channel="webhook", target=str(sub.id), payload=payload, now=now,
                   event_id=event.id)
