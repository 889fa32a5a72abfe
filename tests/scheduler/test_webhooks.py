"""Webhook delivery against a real HTTP receiver on loopback: signatures, outages, dead
letters and their retry, leases that outlive their sender."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from pathway.deliveries import (
    Outcome,
    OutcomeKind,
    RetryPolicy,
    lease_due,
    list_attempts,
    list_deliveries,
    record_outcomes,
    retry_delivery,
)
from pathway.errors import ActionRefused, InvalidData, NotFound
from pathway.runtime import Runtime
from pathway.scan import raise_all_due
from pathway.store.models import Delivery, Reminder, ReminderAction, WebhookSubscription
from scheduler.delivery import DeliveryConfig, RoundResult, deliver_round, deliver_until_idle
from scheduler.webhooks import sign
from tests.builders import at, open_at
from tests.scheduler.support import Clock, Receiver, make_runtime, subscribe
from tests.support.databases import TestDatabase


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def seed(db: TestDatabase, url: str, episodes: int = 2, **sub: object) -> list[int]:
    """Episodes with plan, therapy and calcium reminders raised (3 each), one subscription."""
    with db.sessions() as session:
        subscribe(session, url, **sub)  # type: ignore[arg-type]
        for _ in range(episodes):
            open_at(session)
        raise_all_due(session, now=at(20, 0))
        session.commit()
        return list(session.scalars(select(Delivery.id).order_by(Delivery.id)))


def config_for(runtime: Runtime, worker: str = "test-worker") -> DeliveryConfig:
    return DeliveryConfig.from_settings(runtime.settings, worker=worker)


def statuses(db: TestDatabase) -> dict[str, int]:
    with db.sessions() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {status: count for status, count in rows}


def drain(runtime: Runtime, clock: Clock, rng: random.Random, *, step_minutes: float,
          rounds: int) -> RoundResult:
    """Deliver, move the clock, repeat."""
    total = RoundResult()
    for _ in range(rounds):
        total += deliver_until_idle(runtime, config_for(runtime), rng)
        clock.advance(minutes=step_minutes)
    return total


def test_the_standard_webhooks_test_vector() -> None:
    # From the Standard Webhooks reference libraries' tests.
    signature = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                     1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_delivered_signed_with_stable_id_and_no_patient_data(
    db: TestDatabase, receiver: Receiver,
) -> None:
    seed(db, receiver.url, episodes=1)
    clock = Clock(at(20, 1))
    runtime = make_runtime(db, clock)
    result = deliver_until_idle(runtime, config_for(runtime), random.Random(1))
    assert (result.leased, result.delivered) == (3, 3)
    assert receiver.bad_signatures == 0
    with db.sessions() as session:
        keys = set(session.scalars(select(Delivery.delivery_key)))
        assert set(receiver.hits) == keys
        body = next(iter(receiver.unique.values()))
        assert body["type"] == "reminder.raised"
        assert body["reminder"]["kind"] in {"plan_overdue", "osteoporosis_therapy_overdue",
                                            "calcium_vitamin_d_overdue"}
        text = str(receiver.unique)
        assert "MRN" not in text and "Test Patient" not in text
        [row] = list_deliveries(session, status="delivered", limit=1)
        [attempt] = list_attempts(session, row.id)
        assert attempt.ok and "HTTP 200" in attempt.detail
        assert row.delivered_at == clock() and row.attempts == 1


def test_a_wrong_secret_is_refused_and_retried(db: TestDatabase, receiver: Receiver) -> None:
    seed(db, receiver.url, episodes=1, secret="whsec_" + "QUFB" * 8)
    runtime = make_runtime(db, Clock(at(20, 1)))
    result = deliver_until_idle(runtime, config_for(runtime), random.Random(1))
    assert result.delivered == 0 and receiver.bad_signatures == 1
    assert statuses(db) == {"pending": 3}


def test_receiver_down_then_back_delivers_everything_once(
    db: TestDatabase, receiver: Receiver,
) -> None:
    ids = seed(db, receiver.url, episodes=4)
    receiver.stop()  # connection refused
    clock = Clock(at(20, 1))
    runtime = make_runtime(db, clock, delivery_max_attempts=8, delivery_backoff_seconds=60)
    rng = random.Random(7)
    down = drain(runtime, clock, rng, step_minutes=5, rounds=4)
    assert down.delivered == 0 and down.retrying >= 4 and down.dead == 0
    with db.sessions() as session:
        assert session.scalar(select(func.count()).where(
            Delivery.attempts > 0)) >= 1  # attempts were made and kept
        failed = [a for i in ids for a in list_attempts(session, i) if not a.ok]
        assert failed and all("ConnectError" in a.detail for a in failed)

    receiver.start()  # same port
    drain(runtime, clock, rng, step_minutes=60, rounds=6)
    assert statuses(db) == {"delivered": len(ids)}
    assert len(receiver.unique) == len(ids) == 12
    assert receiver.bad_signatures == 0


def test_a_permanently_failing_receiver_ends_in_dead_letters_that_can_be_retried(
    db: TestDatabase, receiver: Receiver,
) -> None:
    ids = seed(db, receiver.url, episodes=1)
    receiver.status = 503
    clock = Clock(at(20, 1))
    runtime = make_runtime(db, clock, delivery_max_attempts=3, delivery_backoff_seconds=60)
    drain(runtime, clock, random.Random(3), step_minutes=30, rounds=12)
    assert statuses(db) == {"dead": 3}
    with db.sessions() as session:
        dead = list_deliveries(session, status="dead")
        assert sorted(d.id for d in dead) == ids
        assert all(d.attempts == 3 and "HTTP 503" in (d.last_error or "") for d in dead)
        assert all(len(list_attempts(session, d.id)) == 3 for d in dead)

    receiver.status = 200
    with db.sessions() as session:
        for delivery_id in ids:
            retry_delivery(session, delivery_id=delivery_id, actor="admin", now=clock())
        session.commit()
        retried = session.scalar(select(func.count()).select_from(ReminderAction).where(
            ReminderAction.action == "delivery_retried", ReminderAction.actor == "admin"))
        assert retried == 3
    deliver_until_idle(runtime, config_for(runtime), random.Random(3))
    assert statuses(db) == {"delivered": 3}
    assert len(receiver.unique) == 3
    with db.sessions() as session:
        assert len(list_attempts(session, ids[0])) == 4  # three failures kept, one success
        with pytest.raises(ActionRefused):
            retry_delivery(session, delivery_id=ids[0], actor="admin", now=clock())
        with pytest.raises(NotFound):
            retry_delivery(session, delivery_id=2**40, actor="admin", now=clock())


def test_a_killed_senders_lease_expires_and_the_message_goes_again(
    db: TestDatabase, receiver: Receiver,
) -> None:
    seed(db, receiver.url, episodes=1)
    clock = Clock(at(20, 1))
    runtime = make_runtime(db, clock, delivery_lease_seconds=60)
    with db.sessions() as session:  # a sender leases, then dies before sending
        lease = lease_due(session, now=clock(), worker="dead-worker", limit=10, lease_seconds=60)
        session.commit()
    assert len(lease.outgoing) == 3
    assert deliver_round(runtime, config_for(runtime), random.Random(1)).leased == 0
    clock.advance(seconds=61)
    assert deliver_round(runtime, config_for(runtime), random.Random(1)).delivered == 3
    # The dead sender's late report changes nothing but the record of attempts.
    with db.sessions() as session:
        late = [Outcome(o.id, OutcomeKind.FAILED, "timeout") for o in lease.outgoing]
        policy = RetryPolicy(max_attempts=1, base_seconds=1)
        record_outcomes(session, late, now=clock(), worker="dead-worker", policy=policy,
                        rng=random.Random(1))
        session.commit()
    assert statuses(db) == {"delivered": 3}


def test_deactivated_subscription_dead_letters_its_waiting_messages(
    db: TestDatabase, receiver: Receiver,
) -> None:
    seed(db, receiver.url, episodes=1)
    with db.sessions() as session:
        for sub in session.scalars(select(WebhookSubscription)):
            sub.active = False
        session.commit()
    runtime = make_runtime(db, Clock(at(20, 1)))
    assert deliver_until_idle(runtime, config_for(runtime), random.Random(1)).dead == 3
    assert receiver.requests == 0
    with db.sessions() as session:
        [row, *_] = list_deliveries(session, status="dead")
        assert "inactive" in (row.last_error or "")


def test_subscriptions_get_what_they_name(db: TestDatabase, receiver: Receiver) -> None:
    with db.sessions() as session:
        subscribe(session, receiver.url, reminder_kinds=["plan_overdue"])
        subscribe(session, receiver.url, reminder_kinds=["reminder.escalated"])
        subscribe(session, receiver.url, reminder_kinds=["reminder.raised"])
        open_at(session)
        raise_all_due(session, now=at(20, 0))
        rows = session.execute(select(Delivery.target, Reminder.kind).join(
            Reminder, Reminder.id == Delivery.reminder_id)).all()
        session.commit()
    by_sub: dict[str, set[str]] = {}
    for target, kind in rows:
        by_sub.setdefault(target, set()).add(kind)
    assert sorted(len(k) for k in by_sub.values()) == [1, 3]  # the escalation sub got none
    assert {"plan_overdue"} in by_sub.values()


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_seconds=30, cap_seconds=600)
    rng = random.Random(42)
    for attempts, whole in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (9, 600)]:
        delays = [policy.delay(attempts, rng).total_seconds() for _ in range(50)]
        assert all(whole / 2 <= d <= whole for d in delays)
        assert len(set(delays)) > 40  # jittered, not in lockstep


def test_list_deliveries_refuses_bad_filters(db: TestDatabase) -> None:
    with db.sessions() as s:
        with pytest.raises(InvalidData) as bad_status:
            list_deliveries(s, status="lost")
        assert bad_status.value.field == "status"
        with pytest.raises(InvalidData) as bad_limit:
            list_deliveries(s, limit=0)
        assert bad_limit.value.field == "limit"


def test_retry_waits_its_turn_after_a_clock_move(db: TestDatabase, receiver: Receiver) -> None:
    """A retried row is due at the retry time: a sender whose clock is earlier leaves it."""
    ids = seed(db, receiver.url, episodes=1)
    receiver.status = 500
    clock = Clock(at(20, 1))
    runtime = make_runtime(db, clock, delivery_max_attempts=1)
    drain(runtime, clock, random.Random(1), step_minutes=30, rounds=4)
    assert statuses(db) == {"dead": 3}
    with db.sessions() as session:
        retry_delivery(session, delivery_id=ids[0], actor="admin",
                       now=clock() + dt.timedelta(hours=1))
        session.commit()
    receiver.status = 200
    assert deliver_until_idle(runtime, config_for(runtime), random.Random(1)).leased == 0
    clock.advance(hours=1)
    assert deliver_until_idle(runtime, config_for(runtime), random.Random(1)).delivered == 1
