"""The outbox as remembered, and who listens to it: the statuses a delivery row is stored
with, the active webhook subscriptions, the coordinators' e-mail addresses, and the newly
raised reminders their messages are built from. Statements are built once.

(Who is sent what is `pathway.outbox`; what senders lease and record,
`pathway.store.deliveries`.)
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from pathway.store import sql
from pathway.store.models import Reminder, User, WebhookSubscription

#: The statuses of an outbox row. Waiting rows are found through the partial index
#: `ix_deliveries_pending` (`status = 'pending'`), so PENDING is what that index names.
PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
SKIPPED = "skipped"  # its reminder was resolved before it was sent: final, never sent
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD, SKIPPED)

_ACTIVE = select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
_ANY_ACTIVE = select(exists().where(WebhookSubscription.active.is_(True)))
_ANY_EMAIL_READER = select(exists().where(User.active.is_(True), User.email.is_not(None)))
_EMAILS = select(User.username, User.email).where(
    User.username.in_(bindparam("usernames", expanding=True)), User.active.is_(True),
    User.email.is_not(None))
_REMINDERS = (select(Reminder).where(Reminder.id.in_(bindparam("ids", expanding=True)))
              .order_by(Reminder.id))


def active_subscriptions(session: Session) -> list[WebhookSubscription]:
    """The webhook subscriptions that receive messages now."""
    # Most events find none: a one-value look on the driver's cursor first (`pathway.store.sql`).
    if not sql.scalar(session, _ANY_ACTIVE, {}):
        return []
    return list(session.scalars(_ACTIVE))


def email_addresses(session: Session, usernames: Collection[str]) -> dict[str, str]:
    """The e-mail address of each of `usernames` that is an active user with one."""
    if not usernames:
        return {}
    found = session.execute(_EMAILS, {"usernames": list(usernames)})
    return {name: email for name, email in found if email}


def anyone_reads_email(session: Session) -> bool:
    """Whether any active user has an e-mail address (someone a reminder could be mailed to)."""
    return bool(session.scalar(_ANY_EMAIL_READER))


def reminders_by_id(session: Session, reminder_ids: Collection[int]) -> list[Reminder]:
    """Some reminders by id, in id order."""
    if not reminder_ids:
        return []
    return list(session.scalars(_REMINDERS, {"ids": list(reminder_ids)}))
