"""The e-mail channel: reminder messages over SMTP (smtplib), one per reminder or a digest.

`Message-ID` is derived from the delivery's stable key (`<reminder.raised-42-mail@domain>`),
so a message sent twice (at-least-once) is recognisably the same message. In `digest` mode the
messages leased together for one address go as one e-mail whose id is derived from the keys it
carries; since reminders fall due at 00:00 in the site's zone, the first round after a scan
gathers a coordinator's new reminders of the day into one digest.
Bodies carry ids, kinds, dates and rules: never patient identifiers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from pathway.deliveries import Outcome, OutcomeKind, Outgoing
from pathway.outbox import Topic

PER_REMINDER = "per_reminder"
DIGEST = "digest"
EMAIL_MODES = (PER_REMINDER, DIGEST)
SMTP_ACCEPTED = 250

_LABELS = {
    Topic.REMINDER_RAISED.value: "Reminder",
    Topic.REMINDER_ESCALATED.value: "ESCALATED",
    Topic.REMINDER_SNOOZE_ENDED.value: "Snooze ended",
}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send e-mail."""

    host: str
    port: int
    sender: str
    mode: str = PER_REMINDER
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in EMAIL_MODES:
            raise ValueError(f"PATHWAY_EMAIL_MODE must be one of {', '.join(EMAIL_MODES)}")

    @property
    def domain(self) -> str:
        """The right-hand side of Message-IDs: the sender's domain."""
        return self.sender.partition("@")[2] or "pathway.invalid"


def message_id(key: str, domain: str) -> str:
    """A stable Message-ID for a delivery key."""
    return f"<{key}@{domain}>"


def _lines(payload: dict[str, Any]) -> list[str]:
    reminder = payload.get("reminder", {})
    episode = payload.get("episode", {})
    label = _LABELS.get(str(payload.get("type")), str(payload.get("type")))
    return [
        f"{label}: {reminder.get('kind')} ({reminder.get('priority')})",
        f"Episode {episode.get('id')}, state {episode.get('state')}, "
        f"coordinator {episode.get('coordinator') or '-'}",
        f"Due on {reminder.get('due_on')}; reminder {reminder.get('id')}",
        f"Why: {reminder.get('rule')}",
        f"Seeds: {', '.join(str(s) for s in reminder.get('seeds', []))}",
    ]


def _subject(payload: dict[str, Any]) -> str:
    reminder = payload.get("reminder", {})
    episode = payload.get("episode", {})
    label = _LABELS.get(str(payload.get("type")), "Pathway")
    return (f"[Pathway] {label}: {reminder.get('kind')} ({reminder.get('priority')}), "
            f"episode {episode.get('id')}")


def _envelope(config: SmtpConfig, to: str, subject: str, msg_id: str,
              now: dt.datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msg_id
    message["Auto-Submitted"] = "auto-generated"
    return message


def reminder_message(item: Outgoing, config: SmtpConfig, now: dt.datetime) -> EmailMessage:
    """One e-mail for one delivery."""
    message = _envelope(config, item.target, _subject(item.payload),
                        message_id(item.key, config.domain), now)
    message["X-Pathway-Delivery"] = item.key
    message.set_content("\n".join(_lines(item.payload)) + "\n")
    return message


def digest_message(items: Sequence[Outgoing], config: SmtpConfig,
                   now: dt.datetime) -> EmailMessage:
    """One e-mail carrying several deliveries to the same address."""
    keys = sorted(i.key for i in items)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
    message = _envelope(config, items[0].target,
                        f"[Pathway] {len(items)} reminders", message_id(f"digest-{digest}",
                                                                        config.domain), now)
    message["X-Pathway-Delivery"] = ", ".join(keys)
    blocks = ["\n".join(_lines(i.payload)) for i in items]
    message.set_content("\n\n".join(blocks) + "\n")
    return message


def _failure(item_id: int, exc: Exception) -> Outcome:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    code = code if isinstance(code, int) else None
    kind = OutcomeKind.REJECTED if code is not None and code >= 500 else OutcomeKind.FAILED
    return Outcome(item_id, kind, f"{type(exc).__name__} {code or ''}".strip(), code)


class EmailSender:
    """Sends leased e-mail deliveries over one SMTP connection per round."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def _groups(self, items: Sequence[Outgoing]) -> list[list[Outgoing]]:
        if self.config.mode == PER_REMINDER:
            return [[item] for item in items]
        by_target: dict[str, list[Outgoing]] = defaultdict(list)
        for item in items:
            by_target[item.target].append(item)
        return list(by_target.values())

    def send(self, items: Sequence[Outgoing], now: dt.datetime) -> list[Outcome]:
        """Send every item; each gets an outcome (a digest's items share theirs)."""
        if not items:
            return []
        try:
            smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return [Outcome(i.id, OutcomeKind.FAILED, f"connect: {type(exc).__name__}")
                    for i in items]
        outcomes: list[Outcome] = []
        with smtp:
            for group in self._groups(items):
                message = (reminder_message(group[0], self.config, now) if len(group) == 1
                           else digest_message(group, self.config, now))
                try:
                    smtp.send_message(message, from_addr=self.config.sender,
                                      to_addrs=[group[0].target])
                except (OSError, smtplib.SMTPException) as exc:
                    outcomes += [_failure(i.id, exc) for i in group]
                    continue
                # smtplib raises unless the server answered 250 to the message's data.
                outcomes += [Outcome(i.id, OutcomeKind.DELIVERED,
                                     f"SMTP accepted {message['Message-ID']}", SMTP_ACCEPTED)
                             for i in group]
        return outcomes
