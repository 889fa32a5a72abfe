"""Escalation after N days, once, to the lead clinician's channel; snooze honoured."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pathway import access
from pathway.definition import builtin_definition
from pathway.reminder_actions import acknowledge, snooze
from pathway.runtime import Runtime
from pathway.store.models import Delivery, Reminder, ReminderAction
from pathway.store.versions import add_version
from scheduler.delivery import DeliveryConfig, deliver_until_idle
from scheduler.jobs import reminders_tick
from tests.builders import DAY0, UTC, at, open_at, send
from tests.scheduler.support import Clock, Receiver, make_runtime, subscribe
from tests.support.databases import TestDatabase

LEAD = "lead@clinic.example"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def plan_overdue(db: TestDatabase, receiver_url: str | None = None) -> int:
    """One episode whose plan_overdue is raised at 00:00 on day 3 (escalates on day 10)."""
    with db.sessions() as session:
        access.create_user(session, username="coordinator", password="a long password 1",
                           role="coordinator", email="coord@clinic.example", now=at(0))
        if receiver_url:
            subscribe(session, receiver_url, reminder_kinds=["reminder.raised"])
            subscribe(session, receiver_url, reminder_kinds=["reminder.escalated"])
        episode = open_at(session)
        session.commit()
        return episode.id


def tick(runtime: Runtime, clock: Clock, when: dt.datetime) -> None:
    clock.at = when
    reminders_tick(runtime)


def the_reminder(session: Session, kind: str = "plan_overdue") -> Reminder:
    return session.scalars(select(Reminder).where(Reminder.kind == kind)).one()


def actions(session: Session, name: str) -> int:
    return int(session.scalar(select(func.count()).select_from(ReminderAction).where(
        ReminderAction.action == name)) or 0)


def test_escalates_after_seven_days_once_to_the_lead(db: TestDatabase) -> None:
    plan_overdue(db)
    with db.sessions() as session:
        lead_sub = subscribe(session, "http://127.0.0.1:9/lead",
                             reminder_kinds=["reminder.escalated"])
        session.commit()
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock, lead_clinician_email=LEAD)
    tick(runtime, clock, at(3, 0))
    with db.sessions() as session:
        assert the_reminder(session).escalate_at == at(10, 0)

    tick(runtime, clock, at(10, 0) - dt.timedelta(seconds=1))
    with db.sessions() as session:
        assert the_reminder(session).escalated_at is None
    tick(runtime, clock, at(10, 0))
    tick(runtime, clock, at(11, 0))
    tick(runtime, clock, at(30, 0))

    with db.sessions() as session:
        reminder = the_reminder(session)
        assert reminder.escalated_at == at(10, 0) and reminder.status == "open"
        assert actions(session, "escalated") == 1
        sent = session.execute(select(Delivery.channel, Delivery.target).where(
            Delivery.topic == "reminder.escalated")).all()
        assert sorted(sent) == [("email", LEAD), ("webhook", str(lead_sub.id))]
        # The coordinator's e-mail got the raise, not the escalation.
        assert session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.target == "coord@clinic.example")) == 3


def test_acknowledged_and_non_escalating_reminders_never_escalate(db: TestDatabase) -> None:
    with db.sessions() as session:
        acknowledged = open_at(session)
        unattended = open_at(session)
        in_care = open_at(session)
        send(session, in_care, "start_conservative_care", 1)
        session.commit()
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock)
    tick(runtime, clock, at(3, 0))
    with db.sessions() as session:
        reminder = session.scalars(select(Reminder).where(
            Reminder.episode_id == acknowledged.id)).one()
        acknowledge(session, reminder_id=reminder.id, actor="coordinator", now=at(4),
                    note="called the patient")
        session.commit()
    tick(runtime, clock, at(10, 0))
    with db.sessions() as session:
        escalated = set(session.scalars(select(Reminder.episode_id).where(
            Reminder.escalated_at.is_not(None))))
        assert escalated == {unattended.id}
    tick(runtime, clock, at(28, 0))  # reassessment_due (a heads-up) raised
    tick(runtime, clock, at(42, 0))  # reassessment_overdue raised
    tick(runtime, clock, at(60, 0))  # the overdue escalated, the heads-up never
    with db.sessions() as session:
        heads_up = the_reminder(session, "reassessment_due")
        assert (heads_up.escalate_at, heads_up.escalated_at) == (None, None)
        care_kinds = set(session.scalars(select(Reminder.kind).where(
            Reminder.episode_id == in_care.id, Reminder.escalated_at.is_not(None))))
        assert care_kinds == {"osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue",
                              "reassessment_overdue"}


def test_escalation_days_follow_the_episodes_pathway_version(db: TestDatabase) -> None:
    with db.sessions() as session:
        on_current = open_at(session)  # version 2, as shipped
        faster = builtin_definition(2).model_copy(update={"version": 3, "escalation_days": 3})
        add_version(session, definition=faster, note="faster escalation", now=at(0))
        on_faster = open_at(session)
        session.commit()
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock)
    tick(runtime, clock, at(3, 0))
    tick(runtime, clock, at(6, 0))
    with db.sessions() as session:
        escalated = set(session.scalars(select(Reminder.episode_id).where(
            Reminder.escalated_at.is_not(None))))
    assert escalated == {on_faster.id}
    tick(runtime, clock, at(10, 0))
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reminder).where(
            Reminder.escalated_at.is_not(None))) == 2
        assert (on_current.pathway_version, on_faster.pathway_version) == (2, 3)


def snooze_until(db: TestDatabase, day: int, now: dt.datetime) -> None:
    with db.sessions() as session:
        reminder = the_reminder(session)
        snooze(session, reminder_id=reminder.id, until=DAY0 + dt.timedelta(days=day),
               reason="patient on holiday", actor="coordinator", now=now, zone=UTC)
        session.commit()


def deliver(runtime: Runtime) -> None:
    deliver_until_idle(runtime, DeliveryConfig.from_settings(runtime.settings, worker="w"),
                       random.Random(1))


def messages_about(receiver: Receiver, reminder_id: int) -> list[str]:
    return sorted(body["type"] for body in receiver.unique.values()
                  if body["reminder"]["id"] == reminder_id)


def test_a_reminder_snoozed_before_delivery_is_held_then_delivered_once(
    db: TestDatabase, receiver: Receiver,
) -> None:
    plan_overdue(db, receiver.url)
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock)
    tick(runtime, clock, at(3, 0))
    snooze_until(db, 8, now=at(3, 1))
    with db.sessions() as session:
        reminder_id = the_reminder(session).id

    for day in (3, 5, 7):
        clock.at = at(day, 12)
        deliver(runtime)
        tick(runtime, clock, at(day, 12))
    assert messages_about(receiver, reminder_id) == []

    tick(runtime, clock, at(8, 0))  # the snooze ends: the held message is the re-delivery
    deliver(runtime)
    tick(runtime, clock, at(8, 1))
    deliver(runtime)
    assert messages_about(receiver, reminder_id) == ["reminder.raised"]
    with db.sessions() as session:
        reminder = the_reminder(session)
        assert (reminder.status, reminder.snoozed_until) == ("open", None)
        assert actions(session, "snooze_ended") == 1


def test_a_delivered_reminder_is_redelivered_once_when_its_snooze_ends(
    db: TestDatabase, receiver: Receiver,
) -> None:
    plan_overdue(db, receiver.url)
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock)
    tick(runtime, clock, at(3, 0))
    deliver(runtime)
    with db.sessions() as session:
        reminder_id = the_reminder(session).id
    assert messages_about(receiver, reminder_id) == ["reminder.raised"]

    snooze_until(db, 12, now=at(4))
    for day in (6, 10, 11):  # the escalation date (day 10) passes during the snooze
        tick(runtime, clock, at(day, 0))
        deliver(runtime)
    with db.sessions() as session:
        assert the_reminder(session).escalated_at is None
    assert messages_about(receiver, reminder_id) == ["reminder.raised"]

    for hour in (0, 1, 2):
        tick(runtime, clock, at(12, hour))
        deliver(runtime)
    assert messages_about(receiver, reminder_id) == ["reminder.raised", "reminder.snooze_ended"]

    # Unattended for another 7 days after the snooze: it escalates, once.
    tick(runtime, clock, at(19, 0) - dt.timedelta(seconds=1))
    with db.sessions() as session:
        assert the_reminder(session).escalated_at is None
    tick(runtime, clock, at(19, 0))
    tick(runtime, clock, at(25, 0))
    deliver(runtime)
    assert messages_about(receiver, reminder_id) == [
        "reminder.escalated", "reminder.raised", "reminder.snooze_ended"]


def test_each_snooze_ending_is_its_own_message(db: TestDatabase, receiver: Receiver) -> None:
    plan_overdue(db, receiver.url)
    clock = Clock(at(3, 0))
    runtime = make_runtime(db, clock)
    tick(runtime, clock, at(3, 0))
    deliver(runtime)
    snooze_until(db, 5, now=at(3, 2))
    tick(runtime, clock, at(5, 0))
    deliver(runtime)
    snooze_until(db, 7, now=at(5, 2))
    tick(runtime, clock, at(7, 0))
    deliver(runtime)
    with db.sessions() as session:
        keys = sorted(session.scalars(select(Delivery.delivery_key).where(
            Delivery.topic == "reminder.snooze_ended", Delivery.channel == "webhook")))
    assert [k.rsplit("-", 1)[1] for k in keys] == ["1", "2"]
    assert sum(1 for b in receiver.unique.values() if b["type"] == "reminder.snooze_ended") == 2
