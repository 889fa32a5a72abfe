"""Raising and resolving reminders, and the scan for milestones that have fallen due.

Raising is an insert that ignores conflicts on (episode, kind, due date), so however many
scheduler processes scan, a reminder is raised once; on PostgreSQL the due milestones are
claimed with `FOR UPDATE SKIP LOCKED` so several processes share the work. A batch is raised
with one multi-row insert, and its history rows and outbox rows are flushed together, so a
scan costs a handful of statements per batch rather than several per reminder. This per-row
scan serves one episode inside a use case (an episode opened or moved late); the scheduler's
scan over all episodes is the set-based `pathway.scan`, which writes the same rows.

Why a scan and an event on the same milestone cannot leave an open reminder behind: the scan
holds the milestone's row lock from claim to commit. An event that meets the milestone
updates that row (blocking until the scan commits) and only then looks for open reminders
to resolve, and under READ COMMITTED that look-up sees the scan's committed reminder. So the
event must always look: deciding from the milestone as it was read before the lock ("has the
scan alerted on it?") misses a reminder raised meanwhile (tests/scheduler/test_scan.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, bindparam, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pathway import direct, rows
from pathway.definition import PathwayDefinition
from pathway.models import Episode, Milestone, Reminder, ReminderAction
from pathway.outbox import Topic, enqueue_reminder, load_audience
from pathway.versions import load_definition
from pathway.vocabulary import MilestoneKind, MilestoneStatus, ReminderKind, ReminderStatus

SYSTEM_ACTOR = "system:scheduler"
OPEN_STATUSES = (ReminderStatus.OPEN.value, ReminderStatus.SNOOZED.value,
                 ReminderStatus.ACKNOWLEDGED.value)


@dataclass(frozen=True)
class ScanResult:
    """What one scan did: milestones looked at, reminders raised, duplicates ignored."""

    examined: int
    raised: int
    already_raised: int


@dataclass(frozen=True)
class DueReminder:
    """A reminder to raise: its episode, kind, due date and the milestone behind it."""

    episode: Episode
    definition: PathwayDefinition
    kind: ReminderKind
    due_on: dt.date
    milestone_id: int | None = None


def _row(due: DueReminder, now: dt.datetime) -> dict[str, Any]:
    rule = due.definition.reminder(due.kind)
    escalate_at = (now + dt.timedelta(days=due.definition.escalation_days) if rule.escalates
                   else None)
    return dict(
        episode_id=due.episode.id, milestone_id=due.milestone_id, kind=due.kind.value,
        due_on=due.due_on, priority=rule.priority.value, status=ReminderStatus.OPEN.value,
        rule=rule.rule, seeds=list(rule.seeds), raised_at=now, escalate_at=escalate_at,
    )


def _ignoring_conflicts(insert: Callable[[Table], Any]) -> Any:
    table = Reminder.__table__
    assert isinstance(table, Table)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["episode_id", "kind", "due_on"])
        .returning(table.c.id)
    )


# Built once and run with the rows as parameters (executemany, batched by SQLAlchemy):
# a multi-row VALUES built per batch is compiled afresh each time, which cost more than
# the whole rest of a scan.
_INSERT_IGNORING_CONFLICT = {
    "postgresql": _ignoring_conflicts(postgresql.insert),
    "sqlite": _ignoring_conflicts(sqlite.insert),
}


def _insert_ignoring_conflicts(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    stmt = _INSERT_IGNORING_CONFLICT[session.get_bind().dialect.name]
    return list(session.scalars(stmt, rows))


_ACTIONS = ReminderAction.__table__
assert isinstance(_ACTIONS, Table)
_INSERT_ACTION = insert(_ACTIONS)


def raise_reminders(
    session: Session, dues: Sequence[DueReminder], *, now: dt.datetime,
    actor: str = SYSTEM_ACTOR,
) -> list[Reminder]:
    """Raise each reminder once for (episode, kind, due date), keep the step and queue its
    messages; returns the reminders newly raised (those already raised are skipped)."""
    if not dues:
        return []
    ids = _insert_ignoring_conflicts(session, [_row(d, now) for d in dues])
    if not ids:
        return []
    reminders = list(session.scalars(
        select(Reminder).where(Reminder.id.in_(ids)).order_by(Reminder.id)))
    episodes = {d.episode.id: d.episode for d in dues}
    audience = load_audience(session, {e.coordinator for e in episodes.values()})
    # The "raised" history rows in one executemany: nothing reads them back in this session.
    session.execute(_INSERT_ACTION, [
        dict(reminder_id=r.id, at=now, actor=actor, action="raised", detail={})
        for r in reminders])
    for reminder in reminders:
        enqueue_reminder(session, reminder=reminder, episode=episodes[reminder.episode_id],
                         topic=Topic.REMINDER_RAISED.value, now=now, audience=audience)
    return reminders


def raise_reminder(
    session: Session,
    *,
    episode: Episode,
    definition: PathwayDefinition,
    kind: ReminderKind,
    due_on: dt.date,
    now: dt.datetime,
    milestone_id: int | None = None,
    actor: str = SYSTEM_ACTOR,
) -> Reminder | None:
    """Raise a reminder once for (episode, kind, due date); None if it already exists."""
    made = raise_reminders(session, [DueReminder(episode, definition, kind, due_on,
                                                 milestone_id)], now=now, actor=actor)
    return made[0] if made else None


def record_action(
    session: Session,
    reminder: Reminder,
    *,
    actor: str,
    action: str,
    now: dt.datetime,
    detail: dict[str, object],
) -> None:
    """Keep one step of a reminder's history."""
    session.add(
        ReminderAction(reminder_id=reminder.id, at=now, actor=actor, action=action, detail=detail)
    )


# Built once (it runs for every milestone an event closes). The episode ids let the unique
# (episode_id, kind, due_on) index find the rows.
_OPEN_OF_MILESTONE = select(*Reminder.__table__.columns).where(
    Reminder.episode_id == bindparam("episode_id"),
    Reminder.milestone_id == bindparam("milestone_id"),
    or_(*(Reminder.status == status for status in OPEN_STATUSES)),
)


_OPEN_OF_EPISODE = (
    select(*Reminder.__table__.columns)
    .where(Reminder.episode_id == bindparam("episode_id"),
           or_(*(Reminder.status == status for status in OPEN_STATUSES)))
    .order_by(Reminder.due_on, Reminder.id)
)


def open_of_episode(session: Session, episode_id: int) -> list[Reminder]:
    """The episode's reminders that are not resolved, oldest due first."""
    return direct.load(session, Reminder, _OPEN_OF_EPISODE, {"episode_id": episode_id})


def resolve_for_milestones(
    session: Session, milestones: Iterable[Milestone], *, resolution: str, actor: str,
    now: dt.datetime,
) -> int:
    """Resolve the open reminders of milestones that were met or voided; returns the count."""
    found: list[Reminder] = []
    for milestone in milestones:  # usually one: the milestone of the state left
        found += direct.load(session, Reminder, _OPEN_OF_MILESTONE, {
            "episode_id": milestone.episode_id, "milestone_id": milestone.id})
    if not found:
        return 0
    return _resolve(session, found, resolution, actor, now)


def resolve_all_open(
    session: Session, episode_id: int, *, resolution: str, actor: str, now: dt.datetime,
    kinds: Iterable[ReminderKind] | None = None,
) -> int:
    """Resolve the open reminders of an episode: all of them (it was closed) or of `kinds`."""
    wanted = None if kinds is None else tuple(sorted(k.value for k in kinds))
    found = direct.load(session, Reminder, _open_of_kinds(wanted), {"episode_id": episode_id})
    return _resolve(session, found, resolution, actor, now)


@functools.cache
def _open_of_kinds(kinds: tuple[str, ...] | None) -> Select[Any]:
    """The open reminders of an episode, of some kinds or all: built once per set of kinds."""
    if kinds is None:
        return _OPEN_OF_EPISODE
    return _OPEN_OF_EPISODE.where(or_(*(Reminder.kind == kind for kind in kinds)))


def _resolve(
    session: Session, reminders: list[Reminder], resolution: str, actor: str, now: dt.datetime
) -> int:
    # On the transition path: direct statements (`pathway.rows`), not the ORM's flush, which
    # cost about as much as the rest of a step that meets a milestone (BENCHMARKS.md).
    values = {"status": ReminderStatus.RESOLVED.value, "resolved_at": now,
              "resolution": resolution, "escalate_at": None}
    for reminder in reminders:
        rows.update(session, reminder, values)
    rows.insert_all(session, [
        rows.build(ReminderAction, reminder_id=reminder.id, at=now, actor=actor,
                   action="resolved", detail={"resolution": resolution})
        for reminder in reminders])
    return len(reminders)


def _claim_due(
    session: Session, now: dt.datetime, limit: int, episode_id: int | None
) -> list[Milestone]:
    query = (
        select(Milestone)
        .where(Milestone.next_alert_at.is_not(None), Milestone.next_alert_at <= now)
        .order_by(Milestone.next_alert_at)
        .limit(limit)
    )
    if episode_id is not None:
        query = query.where(Milestone.episode_id == episode_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _advance(milestone: Milestone, definition: PathwayDefinition, raised: ReminderKind) -> None:
    """Arm the milestone's next alert after `raised`: heads-up, then overdue, then none."""
    rule = definition.milestone(MilestoneKind(milestone.kind))
    if raised == rule.heads_up_reminder and raised != rule.overdue_reminder:
        milestone.next_alert_at = milestone.overdue_at
        milestone.next_alert_kind = rule.overdue_reminder.value
        return
    milestone.next_alert_at = None
    milestone.next_alert_kind = None
    if milestone.kind == MilestoneKind.CALCITONIN_COURSE_END.value:
        # A notice, not an obligation: the course has ended once it is announced.
        milestone.status = MilestoneStatus.MET.value
        milestone.met_on = milestone.overdue_on


def raise_due_reminders(
    session: Session, *, now: dt.datetime, limit: int = 1000, episode_id: int | None = None
) -> ScanResult:
    """Raise every reminder whose milestone alert time has come (one batch of `limit`),
    for all episodes or for one."""
    due = _claim_due(session, now, limit, episode_id)
    if not due:
        return ScanResult(0, 0, 0)
    episodes = {
        e.id: e
        for e in session.scalars(
            select(Episode).where(Episode.id.in_({m.episode_id for m in due}))
        )
    }
    dues: list[DueReminder] = []
    for milestone in due:
        episode = episodes[milestone.episode_id]
        definition = load_definition(session, episode.pathway_version)
        rule = definition.milestone(MilestoneKind(milestone.kind))
        # A heads-up and its overdue may both have passed (after downtime): raise both now.
        while milestone.next_alert_at is not None and milestone.next_alert_at <= now:
            kind = ReminderKind(str(milestone.next_alert_kind))
            heads_up = kind == rule.heads_up_reminder and kind != rule.overdue_reminder
            due_on = milestone.due_on if heads_up else milestone.overdue_on
            dues.append(DueReminder(episode, definition, kind, due_on, milestone.id))
            _advance(milestone, definition, kind)
    raised = raise_reminders(session, dues, now=now)
    session.flush()
    return ScanResult(len(due), len(raised), len(dues) - len(raised))
