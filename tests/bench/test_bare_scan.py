"""The due-scan benchmark's yardstick writes exactly the rows the scheduler's scan writes."""

from __future__ import annotations

from sqlalchemy import Connection, select

from bench import bulk
from bench.bare_scan import bare_scan
from bench.scan import mark_due, runtime_for, scan_time
from pathway.store.models import Milestone, Reminder, ReminderAction
from scheduler.jobs import scan
from tests.support.databases import TestDatabase

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]


def rows(conn: Connection) -> Rows:
    """The scan's reminders, every milestone's alert state, and the "raised" history rows."""
    now = scan_time(0)
    reminders = [tuple(r) for r in conn.execute(
        select(Reminder.episode_id, Reminder.milestone_id, Reminder.kind, Reminder.due_on,
               Reminder.priority, Reminder.status, Reminder.rule, Reminder.seeds,
               Reminder.escalate_at)
        .where(Reminder.raised_at == now).order_by(Reminder.milestone_id))]
    milestones = [tuple(r) for r in conn.execute(
        select(Milestone.id, Milestone.status, Milestone.next_alert_at, Milestone.next_alert_kind,
               Milestone.met_on).order_by(Milestone.id))]
    actions = len(conn.execute(
        select(ReminderAction.id).join(Reminder, Reminder.id == ReminderAction.reminder_id)
        .where(Reminder.raised_at == now, ReminderAction.action == "raised")).all())
    return reminders, milestones, actions


def test_bare_sql_writes_what_the_scan_writes(db: TestDatabase) -> None:
    runtime = runtime_for(db.url)
    try:
        bulk.build(runtime.engine, 60, log=lambda _line: None)
        mark_due(runtime.engine, 1, 50)
        with runtime.engine.connect() as conn:
            transaction = conn.begin()
            inserted = bare_scan(conn, now=scan_time(0))
            bare = rows(conn)
            transaction.rollback()
        result = scan(runtime, now=scan_time(0))
        with runtime.engine.connect() as conn:
            scanned = rows(conn)
    finally:
        runtime.engine.dispose()
    assert inserted == result.raised == 50
    assert len(bare[0]) == 50 and bare == scanned
