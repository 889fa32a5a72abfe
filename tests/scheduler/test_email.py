"""E-mail delivery against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from pathway import access
from pathway.deliveries import lease_due
from pathway.scan import raise_all_due
from pathway.store.models import Delivery, Reminder
from scheduler.delivery import DeliveryConfig, deliver_until_idle, send_leased
from scheduler.email import SmtpConfig
from tests.builders import at, open_at
from tests.scheduler.support import Clock, SmtpServer, make_runtime
from tests.support.databases import TestDatabase

COORDINATOR_EMAIL = "coord@clinic.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def seed(db: TestDatabase, episodes: int = 1) -> None:
    with db.sessions() as session:
        access.create_user(session, username="coordinator", password="a long password 1",
                           role="coordinator", email=COORDINATOR_EMAIL, now=at(0))
        for _ in range(episodes):
            open_at(session)
        raise_all_due(session, now=at(20, 0))
        session.commit()


def runtime_for(db: TestDatabase, smtp: SmtpServer, **settings: object):  # type: ignore[no-untyped-def]
    return make_runtime(db, Clock(at(20, 1)), smtp_host="127.0.0.1", smtp_port=smtp.port,
                        smtp_sender="pathway@clinic.example", **settings)


def test_one_message_per_reminder_with_a_stable_message_id(
    db: TestDatabase, smtp: SmtpServer,
) -> None:
    seed(db)
    runtime = runtime_for(db, smtp)
    result = deliver_until_idle(runtime, DeliveryConfig.from_settings(runtime.settings),
                                random.Random(1))
    assert result.delivered == 3
    messages = smtp.inbox.messages
    assert len(messages) == 3
    with db.sessions() as session:
        keys = {d.delivery_key for d in session.scalars(select(Delivery))}
        kinds = set(session.scalars(select(Reminder.kind)))
    assert {m["Message-ID"] for m in messages} == {f"<{k}@clinic.example>" for k in keys}
    assert all(m["To"] == COORDINATOR_EMAIL for m in messages)
    assert {next(k for k in kinds if k in m["Subject"]) for m in messages} == kinds
    bodies = " ".join(m.get_payload() for m in messages)
    assert "Why:" in bodies and "MRN" not in bodies and "Test Patient" not in bodies


def test_a_message_sent_twice_keeps_its_message_id(db: TestDatabase, smtp: SmtpServer) -> None:
    seed(db)
    runtime = runtime_for(db, smtp)
    config = DeliveryConfig.from_settings(runtime.settings, worker="w")
    with db.sessions() as session:
        lease = lease_due(session, now=runtime.now(), worker="w", limit=1, lease_seconds=60,
                          channels=("email",))
        session.commit()
    send_leased(lease.outgoing, config, runtime.now)
    send_leased(lease.outgoing, config, runtime.now)  # a sender that died before recording
    first, second = smtp.inbox.messages
    assert first["Message-ID"] == second["Message-ID"]


def test_digest_mode_sends_one_message_per_coordinator(db: TestDatabase, smtp: SmtpServer) -> None:
    seed(db, episodes=2)
    runtime = runtime_for(db, smtp, email_mode="digest")
    result = deliver_until_idle(runtime, DeliveryConfig.from_settings(runtime.settings),
                                random.Random(1))
    assert result.delivered == 6
    [digest] = smtp.inbox.messages
    assert digest["Subject"] == "[Pathway] 6 reminders"
    assert digest["Message-ID"].startswith("<digest-")
    keys = {k.strip() for k in digest["X-Pathway-Delivery"].split(",")}  # folded header
    assert len(keys) == 6 and all(k.startswith("reminder.raised-") for k in keys)
    assert digest.get_payload().count("Why:") == 6


def test_a_permanent_smtp_refusal_is_a_dead_letter_a_temporary_one_is_retried(
    db: TestDatabase, smtp: SmtpServer,
) -> None:
    seed(db)
    runtime = runtime_for(db, smtp)
    config = DeliveryConfig.from_settings(runtime.settings)
    smtp.inbox.refuse = "451 try again later"
    assert deliver_until_idle(runtime, config, random.Random(1)).retrying == 3
    runtime.clock.advance(hours=1)  # type: ignore[attr-defined]
    smtp.inbox.refuse = "550 no such mailbox"
    assert deliver_until_idle(runtime, config, random.Random(1)).dead == 3
    assert smtp.inbox.messages == []


def test_without_smtp_e_mail_waits_and_webhooks_still_go(db: TestDatabase) -> None:
    seed(db)
    runtime = make_runtime(db, Clock(at(20, 1)))  # no PATHWAY_SMTP_HOST
    config = DeliveryConfig.from_settings(runtime.settings)
    assert config.channels == ("webhook",)
    assert deliver_until_idle(runtime, config, random.Random(1)).leased == 0
    with db.sessions() as session:
        assert set(session.scalars(select(Delivery.status))) == {"pending"}


def test_unknown_email_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="EMAIL_MODE"):
        SmtpConfig(host="localhost", port=25, sender="a@b", mode="weekly")
