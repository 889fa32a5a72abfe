"""Webhook subscriptions: who receives reminders and episode events, signed with their secret.

A subscription names reminder kinds (or the topics `reminder.raised` / `reminder.escalated`)
and/or event names (`*` for all). Secrets follow the Standard Webhooks form `whsec_<base64>`;
one is generated when none is given and shown only in the response that creates it.
Deleting a subscription deactivates it, so its past deliveries keep their target.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from pathway.errors import InvalidData, NotFound
from pathway.store import subscriptions
from pathway.store.models import WebhookSubscription
from pathway.store.subscriptions import MAX_ID as MAX_ID
from pathway.vocabulary import ALL_EVENT_NAMES, OPENED_EVENT, ReminderKind

SECRET_PREFIX = "whsec_"
REMINDER_TOPICS = ("reminder.raised", "reminder.escalated")
ALL_EVENTS = "*"
#: What `event_names` may contain.
EVENT_CHOICES: tuple[str, ...] = (*ALL_EVENT_NAMES, OPENED_EVENT, ALL_EVENTS)
#: What `reminder_kinds` may contain.
REMINDER_CHOICES: tuple[str, ...] = (*(k.value for k in ReminderKind), *REMINDER_TOPICS)


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes a secret stands for (Standard Webhooks: base64 after the prefix)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidData("url", "must be an absolute http or https URL")
    if len(url) > 2000:
        raise InvalidData("url", "must be at most 2000 characters")
    if parts.username or parts.password:
        raise InvalidData("url", "must not carry credentials; the secret signs each delivery")
    return url


def _check_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidData("secret", f"must start with {SECRET_PREFIX}")
    try:
        key = secret_bytes(secret)
    except (binascii.Error, ValueError) as exc:
        raise InvalidData("secret", "must be base64 after the prefix") from exc
    if not 24 <= len(key) <= 64:
        raise InvalidData("secret", "must encode 24 to 64 bytes")
    return secret


def _check_names(field: str, names: Sequence[str], choices: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in choices]
    if unknown:
        raise InvalidData(field, f"unknown name {unknown[0]!r}")
    return list(dict.fromkeys(names))


def create_subscription(
    session: Session, *, url: str, reminder_kinds: Sequence[str], event_names: Sequence[str],
    actor: str, now: dt.datetime, secret: str | None = None,
) -> WebhookSubscription:
    """Subscribe a URL to reminder kinds and/or event names; at least one must be given."""
    kinds = _check_names("reminder_kinds", reminder_kinds, REMINDER_CHOICES)
    events = _check_names("event_names", event_names, EVENT_CHOICES)
    if not kinds and not events:
        raise InvalidData("reminder_kinds", "name at least one reminder kind or event name")
    subscription = WebhookSubscription(
        url=_check_url(url), secret=_check_secret(secret) if secret else new_secret(),
        reminder_kinds=kinds, event_names=events, active=True, created_at=now,
        created_by=actor,
    )
    session.add(subscription)
    session.flush()
    return subscription


def list_subscriptions(session: Session, *, include_inactive: bool = False
                       ) -> list[WebhookSubscription]:
    """Subscriptions, oldest first (active ones only unless asked)."""
    return subscriptions.subscriptions(session, include_inactive=include_inactive)


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """One active subscription or NotFound."""
    row = subscriptions.subscription(session, subscription_id)
    if row is None or not row.active:
        raise NotFound("webhook subscription", subscription_id)
    return row


def delete_subscription(session: Session, *, subscription_id: int, actor: str,
                        now: dt.datetime) -> WebhookSubscription:
    """Stop sending to a subscription; pending deliveries to it are left to the senders."""
    row = get_subscription(session, subscription_id)
    row.active = False
    session.flush()
    return row
