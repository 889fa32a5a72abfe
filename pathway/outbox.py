"""The outbox: deliveries queued in the same transaction as the change that caused them.

Each row is one message on one channel to one target, with a stable `delivery_key` that the
receiver uses to drop duplicates (the webhook-id header; the e-mail Message-ID). Senders in
`scheduler/` lease rows, retry with backoff and mark dead letters. A message about a reminder
that was resolved before it went is never sent: it ends `skipped` (see `pathway.deliveries`).
Who listens (subscriptions, addresses) and the stored statuses are `pathway.store.outbox`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from pathway.rules.after import LoggedEvent
from pathway.store import outbox as store
from pathway.store.models import Delivery, Episode, EventRecord, Reminder, WebhookSubscription
from pathway.store.outbox import DEAD as DEAD
from pathway.store.outbox import DELIVERED as DELIVERED
from pathway.store.outbox import DELIVERY_STATUSES as DELIVERY_STATUSES
from pathway.store.outbox import PENDING as PENDING
from pathway.store.outbox import SKIPPED as SKIPPED
from pathway.store.worklist import episodes_by_id


class Topic(StrEnum):
    """What a delivery announces (the body's `type`); public names: add, never rename."""

    REMINDER_RAISED = "reminder.raised"
    REMINDER_ESCALATED = "reminder.escalated"
    REMINDER_SNOOZE_ENDED = "reminder.snooze_ended"
    EPISODE_EVENT = "episode.event"


#: Topics addressed to the coordinator about a reminder: held while the reminder is snoozed.
COORDINATOR_TOPICS = frozenset({Topic.REMINDER_RAISED.value, Topic.REMINDER_SNOOZE_ENDED.value})


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


def _wants(sub: WebhookSubscription, kind: str, topic: str) -> bool:
    """Whether a subscription takes a reminder message: it names the kind or the topic (a
    snooze ending is the raised message again, so subscribers of `reminder.raised` get it),
    or it names nothing at all."""
    if not sub.reminder_kinds:
        return not sub.event_names  # subscribed to episode events only, or to everything
    names = set(sub.reminder_kinds)
    if topic == Topic.REMINDER_SNOOZE_ENDED and Topic.REMINDER_RAISED.value in names:
        return True
    return kind in names or topic in names


@dataclass(frozen=True)
class Audience:
    """Who may receive reminder messages: the active webhook subscriptions and the
    coordinators' e-mail addresses. Loaded once per batch, so raising a thousand reminders
    does not query them a thousand times."""

    subscriptions: list[WebhookSubscription]
    emails: dict[str, str]


def load_audience(session: Session, coordinators: Iterable[str | None]) -> Audience:
    """The subscriptions and the active e-mail addresses of `coordinators`."""
    emails = store.email_addresses(session, {c for c in coordinators if c})
    return Audience(subscriptions=store.active_subscriptions(session), emails=emails)


def enqueue_reminder(
    session: Session, *, reminder: Reminder, episode: Episode, topic: str, now: dt.datetime,
    email_to: str | None = None, email_coordinator: bool = True, key_suffix: str = "",
    skip: Collection[tuple[str, str]] = (), audience: Audience | None = None,
) -> int:
    """Queue a reminder message for every matching webhook and for e-mail: `email_to` if
    given, else the coordinator's address (unless `email_coordinator` is false, as for
    escalations, which go to the lead clinician). `key_suffix` keeps a repeated message of the
    same topic (a second snooze ending) distinct; `skip` holds (channel, target) pairs that
    already have a message waiting; `audience` saves the look-ups when queuing many.
    Returns how many rows were queued."""
    if audience is None:
        audience = load_audience(session, [episode.coordinator] if email_coordinator else [])
    payload = reminder_payload(reminder, episode, topic)
    queued = 0
    for sub in audience.subscriptions:
        if not _wants(sub, reminder.kind, topic) or ("webhook", str(sub.id)) in skip:
            continue
        _queue(session, key=f"{topic}-{reminder.id}-wh{sub.id}{key_suffix}", topic=topic,
               channel="webhook", target=str(sub.id), payload=payload, now=now,
               reminder_id=reminder.id)
        queued += 1
    address = email_to
    if address is None and email_coordinator and episode.coordinator:
        address = audience.emails.get(episode.coordinator)
    if address and ("email", address) not in skip:
        _queue(session, key=f"{topic}-{reminder.id}-mail{key_suffix}", topic=topic,
               channel="email", target=address, payload=payload, now=now,
               reminder_id=reminder.id)
        queued += 1
    return queued


def enqueue_event(session: Session, *, event: EventRecord | LoggedEvent, now: dt.datetime) -> None:
    """Queue an episode event for the webhooks subscribed to its name."""
    payload = {
        "type": Topic.EPISODE_EVENT.value,
        "event": {
            "id": event.id, "episode_id": event.episode_id, "name": event.name,
            "occurred_on": event.occurred_on.isoformat(), "source": event.source_state,
            "target": event.target_state, "seq": event.seq,
        },
    }
    for sub in store.active_subscriptions(session):
        if event.name in sub.event_names or "*" in sub.event_names:
            _queue(session, key=f"event-{event.id}-wh{sub.id}", topic=Topic.EPISODE_EVENT.value,
                   channel="webhook", target=str(sub.id), payload=payload, now=now,
                   event_id=event.id)


def queue_raised(session: Session, reminder_ids: list[int], now: dt.datetime) -> None:
    """Queue the messages of newly raised reminders for whoever listens."""
    if not reminder_ids:
        return
    audience = load_audience(session, [])
    if not audience.subscriptions and not store.anyone_reads_email(session):
        return  # nobody listens: no message to build
    reminders = store.reminders_by_id(session, reminder_ids)
    episodes = episodes_by_id(session, {r.episode_id for r in reminders})
    audience = load_audience(session, {e.coordinator for e in episodes.values()})
    for reminder in reminders:
        enqueue_reminder(session, reminder=reminder, episode=episodes[reminder.episode_id],
                         topic=Topic.REMINDER_RAISED.value, now=now, audience=audience)
