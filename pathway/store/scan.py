"""The scan for due milestones as set-based SQL: a batch of reminders in a few statements.

Same contract and same rows as the per-episode path (`pathway.reminders.raise_due_reminders`),
and built from the same rules (`pathway.rules.alerts.scan_plan`): the
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
from pathway.outbox import queue_raised
from pathway.rules.alerts import ScanPlan, scan_plan
from pathway.store.due import SYSTEM_ACTOR, ScanResult, supersede_heads_ups
from pathway.store.models import Episode, Milestone, PathwayVersion, Reminder, ReminderAction
from pathway.store.tables import table_of as cast_table
from pathway.store.versions import load_definition
from pathway.vocabulary import MilestoneStatus, ReminderStatus

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
    heads_up_then: dict[str, str]


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


def _by_version_and_kind(version: ColumnElement[Any], kind: ColumnElement[Any],
                         values: dict[tuple[int, str], ColumnElement[Any]]
                         ) -> ColumnElement[Any]:
    return case(*((and_(version == v, kind == k), value) for (v, k), value in values.items()),
                else_=null())


def _reminder_rows(plan: ScanPlan, dialect: str) -> Select[Any]:
    """The reminders a batch of due milestones raises, each kind's rule inlined."""
    kind, version = M.c.next_alert_kind, E.c.pathway_version
    rules = plan.reminders
    escalate_after = {v: bindparam(f"escalate_{v}", type_=R.c.escalate_at.type)
                      for v in plan.escalation_days}
    return select(
        M.c.episode_id, M.c.id, kind,
        case((kind.in_(list(plan.heads_up_then)), M.c.due_on), else_=M.c.overdue_on),
        _by_version_and_kind(version, kind, {
            key: literal(priority) for key, (priority, _r, _s, _e) in rules.items()}),
        literal(ReminderStatus.OPEN.value),
        _by_version_and_kind(version, kind, {
            key: literal(rule) for key, (_p, rule, _s, _e) in rules.items()}),
        _by_version_and_kind(version, kind, {
            key: _json(seeds, dialect) for key, (_p, _r, seeds, _e) in rules.items()}),
        bindparam("now", type_=R.c.raised_at.type),
        _by_version_and_kind(version, kind, {
            key: escalate_after[key[0]] for key, (_p, _r, _s, escalates) in rules.items()
            if escalates}),
    ).select_from(M.join(E, E.c.id == M.c.episode_id)).where(_id_in(M.c.id, dialect))


def _advance(plan: ScanPlan, dialect: str) -> Update:
    """Arm each milestone's next alert (the overdue after a heads-up) or none; a notice
    (`ends_when_raised`) is met once its last alert is raised."""
    kind, heads_up = M.c.next_alert_kind, plan.heads_up_then
    ended = and_(M.c.kind.in_(sorted(plan.ends_when_raised)), kind.not_in(list(heads_up)))
    return M.update().where(_id_in(M.c.id, dialect)).values(
        next_alert_at=case((kind.in_(list(heads_up)), M.c.overdue_at), else_=null()),
        next_alert_kind=case({k: literal(v) for k, v in heads_up.items()}, value=kind,
                             else_=null()),
        status=case((ended, literal(MilestoneStatus.MET.value)), else_=M.c.status),
        met_on=case((ended, M.c.overdue_on), else_=M.c.met_on),
        closed_at=case((ended, bindparam("now", type_=M.c.closed_at.type)),
                       else_=M.c.closed_at),
    )


def _statements(plan: ScanPlan, dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return _Statements(
        insert=insert(R).from_select(
            ["episode_id", "milestone_id", "kind", "due_on", "priority", "status", "rule",
             "seeds", "raised_at", "escalate_at"], _reminder_rows(plan, dialect))
        .on_conflict_do_nothing(index_elements=["episode_id", "kind", "due_on"])
        .returning(R.c.id),
        advance=_advance(plan, dialect),
        actions=ACTIONS.insert().from_select(
            ["reminder_id", "at", "actor", "action", "detail"],
            select(R.c.id, bindparam("at", type_=R.c.raised_at.type), bindparam("actor"),
                   literal("raised"), bindparam("detail", type_=JSON))
            .where(_id_in(R.c.id, dialect))),
        still_due=select(M.c.id).where(
            _id_in(M.c.id, dialect), M.c.next_alert_at <= bindparam("now", type_=M.c.due_at.type)),
        heads_up_then=plan.heads_up_then,
    )


# Per database and its stored versions (immutable once stored, like `pathway.store.versions`).
_built: dict[tuple[str, tuple[int, ...]], _Statements] = {}
_VERSIONS = select(PathwayVersion.version).order_by(PathwayVersion.version)


def _statements_for(session: Session) -> tuple[_Statements, list[PathwayDefinition]]:
    bind = session.get_bind()
    versions = tuple(session.scalars(_VERSIONS))
    definitions = [load_definition(session, v) for v in versions]
    key = (bind.engine.url.render_as_string(), versions)
    if key not in _built:
        _built[key] = _statements(scan_plan(tuple(definitions)), bind.dialect.name)
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
        session.execute(statements.advance, {"ids": ids, "now": now})
        attempts += len(due)
        raised += new
        due = list(session.scalars(statements.still_due, {"ids": ids, "now": now}))
        if not due:
            break
    superseded = supersede_heads_ups(session, raised, statements.heads_up_then, now)
    _forget(session, Milestone, claimed)
    _forget(session, Reminder, superseded)
    queue_raised(session, raised, now)
    return ScanResult(len(claimed), len(raised), attempts - len(raised))


def _forget(session: Session, kind: type[Milestone] | type[Reminder], ids: list[int]) -> None:
    """Rows this session had loaded were changed behind its back: reload on next use."""
    changed = set(ids)
    for loaded in list(session.identity_map.values()):  # usually empty in a scheduler's session
        if isinstance(loaded, kind) and loaded.id in changed:
            session.expire(loaded)


def raise_all_due(session: Session, *, now: dt.datetime, batch: int = 1000) -> ScanResult:
    """Scan in batches until nothing is due (the caller commits between calls if it wishes)."""
    total = ScanResult(0, 0, 0)
    while True:
        step = raise_due_in_bulk(session, now=now, limit=batch)
        total = ScanResult(total.examined + step.examined, total.raised + step.raised,
                           total.already_raised + step.already_raised)
        if step.examined < batch:
            return total
