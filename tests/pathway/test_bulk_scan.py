"""The set-based scan (`pathway.scan`) writes exactly what the ORM scan writes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway import access
from pathway.reminders import ScanResult, raise_due_reminders
from pathway.scan import raise_due_in_bulk
from pathway.store.db import transaction
from pathway.store.models import Delivery, Milestone, Reminder, ReminderAction, WebhookSubscription
from pathway.synthetic.demo import make_demo
from tests.conftest import make_database
from tests.support.databases import DatabaseFactory, TestDatabase

UTC = ZoneInfo("UTC")
T0 = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


def populate(database: TestDatabase) -> None:
    """Demo episodes as of T0, a webhook for every reminder and coordinators with e-mail."""
    with transaction(database.sessions) as session:
        make_demo(session, episodes=60, now=T0, zone=UTC, seed=3)
        session.add(WebhookSubscription(url="https://example.org/hook", secret="s" * 32,
                                        reminder_kinds=[], event_names=[], active=True,
                                        created_at=T0, created_by="test"))
        for name in ("alex", "sam"):
            access.create_user(session, username=name, password="a long password 1",
                               role="coordinator", email=f"{name}@example.org", now=T0)


def scan_until_idle(database: TestDatabase, now: dt.datetime, bulk: bool) -> int:
    raised = 0
    while True:
        with transaction(database.sessions) as session:
            step: ScanResult = (raise_due_in_bulk(session, now=now, limit=25) if bulk
                                else raise_due_reminders(session, now=now, limit=25))
        raised += step.raised
        if step.examined < 25:
            return raised


def state(session: Session) -> tuple[list[tuple[object, ...]], ...]:
    """Everything the scans write, keyed naturally (reminder ids depend on insertion order)."""
    key = (Reminder.episode_id, Reminder.kind, Reminder.due_on)
    reminders = sorted(tuple(r) for r in session.execute(
        select(*key, Reminder.milestone_id, Reminder.priority, Reminder.status, Reminder.rule,
               Reminder.seeds, Reminder.raised_at, Reminder.escalate_at)))
    milestones = [tuple(m) for m in session.execute(
        select(Milestone.id, Milestone.status, Milestone.next_alert_at,
               Milestone.next_alert_kind, Milestone.met_on).order_by(Milestone.id))]
    actions = sorted(tuple(a) for a in session.execute(
        select(*key, ReminderAction.action, ReminderAction.actor, ReminderAction.at)
        .join(Reminder, Reminder.id == ReminderAction.reminder_id)))
    deliveries = sorted(tuple(d) for d in session.execute(
        select(*key, Delivery.channel, Delivery.target, Delivery.topic)
        .join(Reminder, Reminder.id == Delivery.reminder_id)))
    return reminders, milestones, actions, deliveries


def test_bulk_scan_matches_the_orm_scan_after_downtime(
        db: TestDatabase, database_factory: DatabaseFactory) -> None:
    twin = make_database(database_factory, db.backend)
    try:
        populate(db)
        populate(twin)
        # Forty days without a scan: heads-ups and overdues both fell due for some milestones.
        later = T0 + dt.timedelta(days=40)
        orm = scan_until_idle(db, later, bulk=False)
        bulk = scan_until_idle(twin, later, bulk=True)
        with db.sessions() as a, twin.sessions() as b:
            expected, got = state(a), state(b)
        assert orm == bulk > 25  # more than one batch
        heads_up_and_overdue = {r[3] for r in expected[0] if r[1] == "reassessment_due"} & {
            r[3] for r in expected[0] if r[1] == "reassessment_overdue"}
        assert heads_up_and_overdue, "the scenario should raise both alerts of a milestone"
        assert got == expected
        channels = [d[3] for d in expected[3]]  # a webhook message for each, e-mail for some
        assert channels.count("webhook") == orm and 0 < channels.count("email") < orm
        assert scan_until_idle(twin, later + dt.timedelta(hours=1), bulk=True) == 0
    finally:
        database_factory.drop(twin)
