"""The bare SQL of a scan: the rows the scheduler's scan writes, written by three set-based
statements and no pathway code. It is the yardstick of workload 1's due scan.

1. INSERT INTO reminders ... SELECT from the due milestones (rule, priority, seeds and
   escalation time from the pathway definition, inlined as CASE expressions), ignoring
   conflicts on (episode, kind, due date) like the scan;
2. INSERT INTO reminder_actions ... the "raised" history row of each new reminder;
3. UPDATE milestones: arm the next alert (the overdue after a heads-up) or disarm it.

Outbox rows are not written: the bench databases have no users with e-mail addresses and no
webhook subscriptions, so the scan queues none either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Connection, and_, case, cast, literal, null, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from pathway.definition import LATEST_BUILTIN, PathwayDefinition, builtin_definition
from pathway.reminders import SYSTEM_ACTOR
from pathway.store.models import Milestone, Reminder, ReminderAction
from pathway.store.tables import table_of as cast_table
from pathway.vocabulary import MilestoneKind, ReminderStatus


def _by_kind(kind: ColumnElement[Any], values: dict[str, Any],
             else_: Any = None) -> ColumnElement[Any]:
    return case({k: literal(v) for k, v in values.items()}, value=kind, else_=else_)


def _json(value: object, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(literal(value, JSON), JSON)
    return type_coerce(literal(value, JSON), JSON)


def _heads_up_kinds(definition: PathwayDefinition) -> dict[str, str]:
    """heads-up kind -> the overdue kind that follows it."""
    return {rule.heads_up_reminder.value: rule.overdue_reminder.value
            for rule in definition.milestones.values()
            if rule.heads_up_reminder is not None
            and rule.heads_up_reminder != rule.overdue_reminder}


def bare_scan(conn: Connection, *, now: dt.datetime,
              definition: PathwayDefinition | None = None) -> int:
    """Write the reminders, history rows and milestone updates a scan at `now` writes;
    returns how many reminders were inserted. The caller owns the transaction."""
    definition = definition or builtin_definition(LATEST_BUILTIN)
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    m = cast_table(Milestone)
    rules = {k.value: r for k, r in definition.reminders.items()}
    heads_up = _heads_up_kinds(definition)
    kind = m.c.next_alert_kind
    is_heads_up = kind.in_(list(heads_up))
    due_on = case((is_heads_up, m.c.due_on), else_=m.c.overdue_on)
    escalate_at = now + dt.timedelta(days=definition.escalation_days)
    due = and_(m.c.next_alert_at.is_not(None), m.c.next_alert_at <= now)
    seeds = case({k: _json(list(r.seeds), dialect) for k, r in rules.items()}, value=kind)
    reminders = select(
        m.c.episode_id, m.c.id, kind, due_on,
        _by_kind(kind, {k: r.priority.value for k, r in rules.items()}),
        literal(ReminderStatus.OPEN.value), _by_kind(kind, {k: r.rule for k, r in rules.items()}),
        seeds, literal(now, Reminder.__table__.c.raised_at.type),
        case((kind.in_([k for k, r in rules.items() if r.escalates]),
              literal(escalate_at, Reminder.__table__.c.escalate_at.type)), else_=null()),
    ).where(due)
    r = cast_table(Reminder)
    inserted = conn.execute(
        insert(r).from_select(
            ["episode_id", "milestone_id", "kind", "due_on", "priority", "status", "rule",
             "seeds", "raised_at", "escalate_at"], reminders)
        .on_conflict_do_nothing(index_elements=["episode_id", "kind", "due_on"])
        .execution_options(preserve_rowcount=True)
    ).rowcount
    new = select(
        r.c.id, literal(now, ReminderAction.__table__.c.at.type), literal(SYSTEM_ACTOR),
        literal("raised"), _json({}, dialect),
    ).select_from(m.join(r, and_(r.c.episode_id == m.c.episode_id, r.c.kind == kind,
                                 r.c.due_on == due_on))).where(due, r.c.raised_at == now)
    conn.execute(cast_table(ReminderAction).insert().from_select(
        ["reminder_id", "at", "actor", "action", "detail"], new))
    calcitonin = m.c.kind == MilestoneKind.CALCITONIN_COURSE_END.value
    conn.execute(m.update().where(due).values(
        next_alert_at=case((is_heads_up, m.c.overdue_at), else_=null()),
        next_alert_kind=_by_kind(kind, heads_up),
        status=case((calcitonin, literal("met")), else_=m.c.status),
        met_on=case((calcitonin, m.c.overdue_on), else_=m.c.met_on),
    ))
    return int(inserted)
