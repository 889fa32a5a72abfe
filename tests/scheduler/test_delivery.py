"""Delivery rounds as a reminder's history sees them, against a real HTTP receiver and a real
SMTP server on loopback: every attempt (failed, delivered, dead) is a history row with its
channel, status code or error; a reminder resolved before its message went is not sent, and
its delivery is kept as skipped (PATHWAY.md, Reminders)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway import access
from pathway.deliveries import list_attempts, list_deliveries, retry_delivery
from pathway.delivery_history import history_error
from pathway.errors import ActionRefused
from pathway.reminder_actions import reminder_history
from pathway.runtime import Runtime
from pathway.store.models import Delivery, Episode, Reminder, WebhookSubscription
from scheduler.delivery import DeliveryConfig, RoundResult, deliver_until_idle
from scheduler.jobs import reminders_tick
from tests.builders import at, open_at, send
from tests.scheduler.support import Clock, Receiver, SmtpServer, make_runtime, subscribe
from tests.support.databases import TestDatabase

COORDINATOR = "coord@clinic.example"
LEAD = "lead@clinic.example"
DELIVERY_ACTIONS = ("delivery_delivered", "delivery_failed", "delivery_dead",
                    "delivery_skipped")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def seed(db: TestDatabase, receiver: Receiver) -> int:
    """One episode (plan_overdue raised at 00:00 on day 3, escalating on day 10), a coordinator
    with an e-mail address and a webhook subscribed to every reminder message."""
    with db.sessions() as session:
        access.create_user(session, username="coordinator", password="a long password 1",
                           role="coordinator", email=COORDINATOR, now=at(0))
        subscribe(session, receiver.url)
        episode = open_at(session)
        session.commit()
        return episode.id


def runtime_for(db: TestDatabase, smtp: SmtpServer, clock: Clock, **settings: Any) -> Runtime:
    return make_runtime(db, clock, smtp_host="127.0.0.1", smtp_port=smtp.port,
                        smtp_sender="pathway@clinic.example", lead_clinician_email=LEAD,
                        **settings)


def deliver(runtime: Runtime, batch: int = 50) -> RoundResult:
    config = DeliveryConfig.from_settings(runtime.settings, worker="w")
    return deliver_until_idle(runtime, DeliveryConfig(
        worker=config.worker, lease_seconds=config.lease_seconds, policy=config.policy,
        smtp=config.smtp, batch=batch), random.Random(1))


def raise_plan_overdue(runtime: Runtime, clock: Clock) -> int:
    """Tick at 00:00 on day 3: the plan_overdue reminder and its two messages; its id."""
    clock.at = at(3, 0)
    reminders_tick(runtime)
    with runtime.sessions() as session:
        return session.scalars(select(Reminder.id)).one()


def meet_the_plan(db: TestDatabase, episode_id: int, day: int) -> None:
    """The plan decision is made: its milestone is met and the reminder resolved."""
    with db.sessions() as session:
        send(session, session.get_one(Episode, episode_id), "start_conservative_care", day)
        session.commit()


def history(db: TestDatabase, reminder_id: int) -> list[tuple[str, dict[str, Any]]]:
    with db.sessions() as session:
        return [(a.action, dict(a.detail)) for a in reminder_history(session, reminder_id)]


def deliveries_of(history_rows: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """(action, channel, topic, status code) of each delivery entry, in order."""
    return [(action, d["channel"], d["topic"], d["status_code"])
            for action, d in history_rows if action in DELIVERY_ACTIONS]


def test_a_failed_attempt_then_a_success_both_show_in_the_history(
    db: TestDatabase, receiver: Receiver, smtp: SmtpServer,
) -> None:
    seed(db, receiver)
    clock = Clock(at(3, 0))
    runtime = runtime_for(db, smtp, clock)
    reminder_id = raise_plan_overdue(runtime, clock)

    receiver.status = 503
    smtp.inbox.refuse = "451 4.3.0 try again later"
    clock.at = at(3, 1)
    failed_at = clock()
    assert deliver(runtime).retrying == 2
    receiver.status = 200
    smtp.inbox.refuse = None
    clock.advance(minutes=5)  # past the backoff
    assert deliver(runtime).delivered == 2

    rows = history(db, reminder_id)
    assert deliveries_of(rows) == [
        ("delivery_failed", "webhook", "reminder.raised", 503),
        ("delivery_failed", "email", "reminder.raised", 451),
        ("delivery_delivered", "webhook", "reminder.raised", 200),
        ("delivery_delivered", "email", "reminder.raised", 250),
    ]
    failures = [d for action, d in rows if action == "delivery_failed"]
    assert [d["attempt"] for d in failures] == [1, 1]
    assert "HTTP 503" in failures[0]["error"] and "451" in failures[1]["error"]
    assert all(d["outcome"] == "failed" for d in failures)
    successes = [d for action, d in rows if action == "delivery_delivered"]
    assert [d["attempt"] for d in successes] == [2, 2]
    assert all(d["error"] is None and d["outcome"] == "delivered" for d in successes)
    with db.sessions() as session:
        times = [a.at for a in reminder_history(session, reminder_id)
                 if a.action in DELIVERY_ACTIONS]
        ids = set(session.scalars(select(Delivery.id)))
        assert {d["delivery_id"] for _, d in rows if "delivery_id" in d} == ids
        # The same attempts in the operator's record: one history row per attempt row.
        assert sum(len(list_attempts(session, i)) for i in ids) == 4
    assert times == [failed_at, failed_at, clock(), clock()]
    assert "Test Patient" not in str(rows) and "MRN" not in str(rows)


def test_a_dead_letter_shows_its_error_and_its_last_attempt_as_dead(
    db: TestDatabase, receiver: Receiver, smtp: SmtpServer,
) -> None:
    seed(db, receiver)
    clock = Clock(at(3, 0))
    runtime = runtime_for(db, smtp, clock, delivery_max_attempts=2)
    reminder_id = raise_plan_overdue(runtime, clock)
    receiver.stop()  # connection refused
    smtp.inbox.refuse = "550 5.1.1 no such mailbox"  # permanent: dead at once
    clock.at = at(3, 1)
    deliver(runtime)
    clock.advance(minutes=5)
    deliver(runtime)

    rows = history(db, reminder_id)
    assert deliveries_of(rows) == [
        ("delivery_failed", "webhook", "reminder.raised", None),
        ("delivery_dead", "email", "reminder.raised", 550),
        ("delivery_dead", "webhook", "reminder.raised", None),
    ]
    webhook = [d for _, d in rows if d.get("channel") == "webhook"]
    assert all("ConnectError" in d["error"] and len(d["error"]) <= 200 for d in webhook)
    assert [d["attempt"] for d in webhook] == [1, 2]


def test_a_reminder_resolved_before_delivery_is_not_sent_and_its_delivery_is_skipped(
    db: TestDatabase, receiver: Receiver, smtp: SmtpServer,
) -> None:
    episode_id = seed(db, receiver)
    clock = Clock(at(3, 0))
    runtime = runtime_for(db, smtp, clock)
    reminder_id = raise_plan_overdue(runtime, clock)
    meet_the_plan(db, episode_id, day=3)  # at 09:00

    clock.at = at(3, 10)
    result = deliver(runtime, batch=1)  # a batch wholly skipped does not end the run early
    assert (result.skipped, result.leased, result.delivered) == (2, 0, 0)
    assert receiver.requests == 0 and smtp.inbox.messages == []

    rows = history(db, reminder_id)
    assert [a for a, _ in rows] == ["raised", "resolved", "delivery_skipped", "delivery_skipped"]
    skips = [d for a, d in rows if a == "delivery_skipped"]
    assert {d["channel"] for d in skips} == {"webhook", "email"}
    assert all(d["outcome"] == "skipped" and d["reason"] == "reminder resolved"
               and d["resolution"] == "milestone_met" and d["status_code"] is None
               for d in skips)
    with db.sessions() as session:
        rows_now = list(session.scalars(select(Delivery)))
        assert {(d.status, d.attempts, d.next_attempt_at) for d in rows_now} == {
            ("skipped", 0, None)}
        assert all(list_attempts(session, d.id) == [] for d in rows_now)  # nothing was sent
        assert {d.id for d in list_deliveries(session, status="skipped")} == {
            d.id for d in rows_now}
        with pytest.raises(ActionRefused):
            retry_delivery(session, delivery_id=rows_now[0].id, actor="admin", now=clock())
    clock.advance(hours=1)
    assert deliver(runtime) == RoundResult()  # nothing left to send, ever


def test_a_delivery_failing_when_its_reminder_is_resolved_is_not_retried(
    db: TestDatabase, receiver: Receiver, smtp: SmtpServer,
) -> None:
    episode_id = seed(db, receiver)
    clock = Clock(at(3, 0))
    runtime = runtime_for(db, smtp, clock)
    reminder_id = raise_plan_overdue(runtime, clock)
    receiver.status = 503
    clock.at = at(3, 1)
    deliver(runtime)  # the webhook fails, the e-mail goes
    meet_the_plan(db, episode_id, day=3)  # at 09:00
    receiver.status = 200
    clock.at = at(3, 10)
    assert deliver(runtime).skipped == 1
    assert receiver.requests == 1 and receiver.hits == {}
    assert deliveries_of(history(db, reminder_id)) == [
        ("delivery_failed", "webhook", "reminder.raised", 503),
        ("delivery_delivered", "email", "reminder.raised", 250),
        ("delivery_skipped", "webhook", "reminder.raised", None),
    ]


def receiver_subscription(session: Session) -> int:
    return int(session.scalars(select(WebhookSubscription.id)).one())


def test_a_resolved_reminders_escalation_is_not_sent(
    db: TestDatabase, receiver: Receiver, smtp: SmtpServer,
) -> None:
    episode_id = seed(db, receiver)
    clock = Clock(at(3, 0))
    runtime = runtime_for(db, smtp, clock)
    reminder_id = raise_plan_overdue(runtime, clock)
    clock.at = at(3, 1)
    assert deliver(runtime).delivered == 2  # the raise: webhook and coordinator e-mail
    clock.at = at(10, 0)
    assert reminders_tick(runtime).escalation.escalated == 1  # to the lead and the webhook
    with db.sessions() as session:
        queued = session.scalars(select(Delivery.target).where(
            Delivery.topic == "reminder.escalated")).all()
        assert sorted(queued) == sorted([LEAD, str(receiver_subscription(session))])
    meet_the_plan(db, episode_id, day=10)  # at 09:00

    clock.at = at(10, 10)
    assert deliver(runtime).skipped == 2
    assert sorted(b["type"] for b in receiver.unique.values()) == ["reminder.raised"]
    assert [m["To"] for m in smtp.inbox.messages] == [COORDINATOR]
    rows = history(db, reminder_id)
    assert [a for a, _ in rows][-4:] == ["escalated", "resolved", "delivery_skipped",
                                         "delivery_skipped"]
    assert {d["topic"] for a, d in rows if a == "delivery_skipped"} == {"reminder.escalated"}


def test_history_errors_are_bounded_and_name_no_address() -> None:
    raw = "ConnectError: cannot reach https://hooks.example.org/x?token=" + "s" * 500
    text = history_error(raw)
    assert len(text) <= 200 and "token" not in text and "hooks.example.org" not in text
    assert text.startswith("ConnectError: cannot reach <url>")
    assert history_error("HTTP 503 in 12 ms") == "HTTP 503 in 12 ms"
