"""Delivery attempts as steps of a reminder's history.

PATHWAY.md: every delivery attempt (time, channel, outcome) shows in the reminder's history,
and a reminder resolved before its delivery is made is not delivered, the delivery kept as
skipped. So each attempt at a message about a reminder, and each skip, is written as a
`ReminderAction` in the transaction that records it (`pathway.deliveries`): the history stays
one append-only table, read by one query, and an attempt is never recorded without its step.

The action is `delivery_<outcome>`; its detail holds the delivery's id, channel, topic and
webhook subscription, the attempt's number, the receiver's status code (HTTP status, SMTP
reply code) and, when it was not delivered, a bounded error text. Never an e-mail address or a
URL (the history has more readers than the outbox), never patient data.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from pathway.outbox import DEAD, DELIVERED, SKIPPED
from pathway.reminders import SYSTEM_ACTOR
from pathway.store.models import Delivery, ReminderAction

FAILED = "failed"
#: The outcomes a reminder's history shows, each as the action `delivery_<outcome>`.
HISTORY_OUTCOMES = (DELIVERED, FAILED, DEAD, SKIPPED)
HISTORY_ACTIONS = tuple(f"delivery_{outcome}" for outcome in HISTORY_OUTCOMES)
#: Longest error text kept in a reminder's history (the attempt row keeps up to 2,000).
HISTORY_ERROR_CHARS = 200
SKIP_REASON = "reminder resolved"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def history_error(text: str) -> str:
    """An attempt's error as a reminder's history keeps it: addresses replaced by `<url>` (a
    webhook URL may carry a token) and cut to `HISTORY_ERROR_CHARS`. The senders' errors
    name the failure (status line, exception, SMTP code), never a message body."""
    return _URL.sub("<url>", text)[:HISTORY_ERROR_CHARS]


def record_step(session: Session, row: Delivery, *, outcome: str, now: dt.datetime,
                subscription_id: int | None, **detail: object) -> None:
    """One step of the history of the reminder a message is about (nothing for a message
    about an episode event, which has no reminder)."""
    if row.reminder_id is None:
        return
    session.add(ReminderAction(
        reminder_id=row.reminder_id, at=now, actor=SYSTEM_ACTOR, action=f"delivery_{outcome}",
        detail={"delivery_id": row.id, "channel": row.channel, "topic": row.topic,
                "subscription_id": subscription_id, "outcome": outcome, **detail}))
