"""The scan for due milestones as set-based SQL: a batch of reminders in a few statements.

Same contract and same rows as `pathway.reminders.raise_due_reminders` over all episodes: the
due milestones are claimed (FOR UPDATE SKIP LOCKED on PostgreSQL, so several scheduler
processes share the work), each raises its reminder once for (episode, kind, due date), a
"raised" history row is kept, messages are queued for whoever listens, and the milestone's next
alert is armed (the overdue after a heads-up) or disarmed. The difference is who does the
work per reminder: here an INSERT ... SELECT writes the reminders, with each kind's rule,
priority, seeds and escalation time inlined as CASE expressions built once from the stored
pathway versions, so a batch costs the database's time rather than Python's (about fifteen
times less on the due-scan benchmark, BENCHMARKS.md workload 1).

Outbox messages are still built one by one through `pathway.outbox`, and only when someone
listens (an active webhook subscription, or a coordinator with an e-mail address).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    Update,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pathway.definition import PathwayDefinition
from pathway.models import Episode, Milestone, PathwayVersion, Reminder, ReminderAction, User
from pathway.outbox import Topic, enqueue_reminder, load_audience
from pathway.reminders import SYSTEM_ACTOR, ScanResult
from pathway.rows import cast_table
from pathway.versions import load_definition
from pathway.vocabulary import MilestoneKind, MilestoneStatus, ReminderStatus

M = cast_table(Milestone)
E = cast_table(Episode)
R = cast_table(Reminder)
ACTIONS = cast_table(ReminderAction)
#: A heads-up and its overdue can both be due after downtime: each pass raises one alert.
MAX_PASSES = 3


def _json(value: object, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":  # a bound value of unknown type must be cast to json
        return cast(literal(value, JSON), JSON)
    return type_coerce(literal(value, JSON), JSON)


@dataclass(frozen=True)
class _Statements:
    """The batch's statements for one set of stored versions and one dialect."""

    insert: Insert
    advance: Update
    actions: Insert
    still_due: Select[tuple[int]]


def _id_in(column: ColumnElement[int], dialect: str) -> ColumnElement[bool]:
    """`column` among the batch's ids: one array parameter on PostgreSQL (a thousand bound
    values make a statement PostgreSQL parses afresh each time), an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
    # SQLite: one JSON array parameter read by json_each. An expanding IN renders a thousand
    # placeholders into the statement on every call, a quarter of the batch's time.
    return column.in_(select(literal_column("value")).select_from(
        func.json_each(bindparam("ids", type_=String))))


def _ids(ids: Sequence[int], dialect: str) -> object:
    """The value of the `ids` parameter of `_id_in`."""
    return list(ids) if dialect == "postgresql" else json.dumps(list(ids))


def _heads_ups(definitions: Sequence[PathwayDefinition]) -> dict[str, str]:
    """heads-up kind -> the overdue kind armed after it, the same in every stored version."""
    found: dict[str, str] = {}
    for definition in definitions:
        for rule in definition.milestones.values():
            heads_up = rule.heads_up_reminder
            if heads_up is None or heads_up == rule.overdue_reminder:
                continue
            if found.setdefault(heads_up.value, rule.overdue_reminder.value) != (
                    rule.overdue_reminder.value):
                raise ValueError(f"versions disagree on what follows {heads_up.value}")
    return found


def _by_version_and_kind(version: ColumnElement[Any], kind: ColumnElement[Any],
                         values: dict[tuple[int, str], ColumnElement[Any]]
                         ) -> ColumnElement[Any]:
    return case(*((and_(version == v, kind == k), value) for (v, k), value in values.items()),
                else_=null())


def _statements(definitions: Sequence[PathwayDefinition], dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    kind, version = M.c.next_alert_kind, E.c.pathway_version
    heads_up = _heads_ups(definitions)
    rules = {(d.version, k.value): (d, r) for d in definitions for k, r in d.reminders.items()}
    now = bindparam("now", type_=R.c.raised_at.type)
    escalate_after = {d.version: bindparam(f"escalate_{d.version}", type_=R.c.escalate_at.type)
                      for d in definitions}
    rows = select(
        M.c.episode_id, M.c.id, kind,
        case((kind.in_(list(heads_up)), M.c.due_on), else_=M.c.overdue_on),
        _by_version_and_kind(version, kind, {
            key: literal(r.priority.value) for key, (_, r) in rules.items()}),
        literal(ReminderStatus.OPEN.value),
        _by_version_and_kind(version, kind, {
            key: literal(r.rule) for key, (_, r) in rules.items()}),
        _by_version_and_kind(version, kind, {
            key: _json(list(r.seeds), dialect) for key, (_, r) in rules.items()}),
        now,
        _by_version_and_kind(version, kind, {
            key: escalate_after[d.version] for key, (d, r) in rules.items() if r.escalates}),
    ).select_from(M.join(E, E.c.id == M.c.episode_id)).where(_id_in(M.c.id, dialect))
    calcitonin = M.c.kind == MilestoneKind.CALCITONIN_COURSE_END.value
    return _Statements(
        insert=insert(R).from_select(
            ["episode_id", "milestone_id", "kind", "due_on", "priority", "status", "rule",
             "seeds", "raised_at", "escalate_at"], rows)
        .on_conflict_do_nothing(index_elements=["episode_id", "kind", "due_on"])
        .returning(R.c.id),
        advance=M.update().where(_id_in(M.c.id, dialect)).values(
            next_alert_at=case((kind.in_(list(heads_up)), M.c.overdue_at), else_=null()),
            next_alert_kind=case({k: literal(v) for k, v in heads_up.items()}, value=kind,
                                 else_=null()),
            # A notice, not an obligation: the course has ended once it is announced.
            status=case((and_(calcitonin, kind.not_in(list(heads_up))),
                         literal(MilestoneStatus.MET.value)), else_=M.c.status),
            met_on=case((and_(calcitonin, kind.not_in(list(heads_up))), M.c.overdue_on),
                        else_=M.c.met_on),
        ),
        actions=ACTIONS.insert().from_select(
            ["reminder_id", "at", "actor", "action", "detail"],
            select(R.c.id, bindparam("at", type_=R.c.raised_at.type), bindparam("actor"),
                   literal("raised"), bindparam("detail", type_=JSON))
            .where(_id_in(R.c.id, dialect))),
        still_due=select(M.c.id).where(
            _id_in(M.c.id, dialect), M.c.next_alert_at <= bindparam("now", type_=M.c.due_at.type)),
    )


# Per database and its stored versions (immutable once stored, like `pathway.versions`).
_built: dict[tuple[str, tuple[int, ...]], _Statements] = {}
_VERSIONS = select(PathwayVersion.version).order_by(PathwayVersion.version)
_LISTENERS = select(exists().where(User.active.is_(True), User.email.is_not(None)))


def _statements_for(session: Session) -> tuple[_Statements, list[PathwayDefinition]]:
    bind = session.get_bind()
    versions = tuple(session.scalars(_VERSIONS))
    definitions = [load_definition(session, v) for v in versions]
    key = (bind.engine.url.render_as_string(), versions)
    if key not in _built:
        _built[key] = _statements(definitions, bind.dialect.name)
    return _built[key], definitions


def _claim(session: Session, now: dt.datetime, limit: int) -> list[int]:
    query = (select(Milestone.id)
             .where(Milestone.next_alert_at.is_not(None), Milestone.next_alert_at <= now)
             .order_by(Milestone.next_alert_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def raise_due_in_bulk(session: Session, *, now: dt.datetime, limit: int = 1000) -> ScanResult:
    """Raise the reminders of one batch of due milestones (all episodes), set-based."""
    claimed = _claim(session, now, limit)
    if not claimed:
        return ScanResult(0, 0, 0)
    statements, definitions = _statements_for(session)
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {f"escalate_{d.version}": now + dt.timedelta(days=d.escalation_days)
                              for d in definitions}
    due, attempts, raised = claimed, 0, []
    for _ in range(MAX_PASSES):
        ids = _ids(due, dialect)
        new = list(session.scalars(statements.insert, {"ids": ids, "now": now, **params}))
        if new:
            session.execute(statements.actions, {"ids": _ids(new, dialect), "at": now,
                                                 "actor": SYSTEM_ACTOR, "detail": {}})
        session.execute(statements.advance, {"ids": ids})
        attempts += len(due)
        raised += new
        due = list(session.scalars(statements.still_due, {"ids": ids, "now": now}))
        if not due:
            break
    _forget_loaded(session, claimed)
    _queue_messages(session, raised, now)
    return ScanResult(len(claimed), len(raised), attempts - len(raised))


def _forget_loaded(session: Session, milestone_ids: list[int]) -> None:
    """Milestones this session had loaded were changed behind its back: reload on next use."""
    changed = set(milestone_ids)
    for loaded in list(session.identity_map.values()):  # usually empty in a scheduler's session
        if isinstance(loaded, Milestone) and loaded.id in changed:
            session.expire(loaded)


def _queue_messages(session: Session, reminder_ids: list[int], now: dt.datetime) -> None:
    if not reminder_ids:
        return
    audience = load_audience(session, [])
    if not audience.subscriptions and not session.scalar(_LISTENERS):
        return  # nobody listens: no message to build
    reminders = list(session.scalars(
        select(Reminder).where(Reminder.id.in_(reminder_ids)).order_by(Reminder.id)))
    episodes = {e.id: e for e in session.scalars(
        select(Episode).where(Episode.id.in_({r.episode_id for r in reminders})))}
    audience = load_audience(session, {e.coordinator for e in episodes.values()})
    for reminder in reminders:
        enqueue_reminder(session, reminder=reminder, episode=episodes[reminder.episode_id],
                         topic=Topic.REMINDER_RAISED.value, now=now, audience=audience)



def raise_all_due(session: Session, *, now: dt.datetime, batch: int = 1000) -> ScanResult:
    """Scan in batches until nothing is due (the caller commits between calls if it wishes)."""
    total = ScanResult(0, 0, 0)
    while True:
        step = raise_due_in_bulk(session, now=now, limit=batch)
        total = ScanResult(total.examined + step.examined, total.raised + step.raised,
                           total.already_raised + step.already_raised)
        if step.examined < batch:
            return total
