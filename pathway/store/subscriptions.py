"""Webhook subscriptions as remembered: one by id, and the list, oldest first. A deleted
subscription stays as an inactive row (its past deliveries keep their target), so both reads
say whether inactive ones count. (Validating URLs, secrets and names is `pathway.webhooks`;
who is sent what is `pathway.outbox`.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway.store.models import WebhookSubscription

#: The largest id a subscription can have: ids are 32-bit INTEGER columns, and a larger one
#: would be a driver error on PostgreSQL rather than "not found".
MAX_ID = 2**31 - 1

_EVERY_SUBSCRIPTION = select(WebhookSubscription).order_by(WebhookSubscription.id)
_ACTIVE_SUBSCRIPTIONS = _EVERY_SUBSCRIPTION.where(WebhookSubscription.active.is_(True))


def subscription(session: Session, subscription_id: int) -> WebhookSubscription | None:
    """The subscription with this id (active or not), or None (also for an id no row can
    have)."""
    if not 0 < subscription_id <= MAX_ID:
        return None
    return session.get(WebhookSubscription, subscription_id)


def subscriptions(session: Session, *, include_inactive: bool) -> list[WebhookSubscription]:
    """The subscriptions, oldest first: active ones only unless `include_inactive`."""
    query = _EVERY_SUBSCRIPTION if include_inactive else _ACTIVE_SUBSCRIPTIONS
    return list(session.scalars(query))
