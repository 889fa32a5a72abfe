"""The episode as it stands after a `Changes` is applied, for the edge to render without
loading it again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields, replace

from pathway.rules.changes import Changes, LogRow
from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot, ReminderSnapshot
from pathway.vocabulary import ReminderStatus


@dataclass(frozen=True, slots=True)
class LoggedEvent(LogRow):
    """One row of the event log, as written: the rules' row with its ids."""

    id: int
    episode_id: int

    @classmethod
    def of(cls, log: LogRow, event_id: int, episode_id: int) -> LoggedEvent:
        return cls(**{f.name: getattr(log, f.name) for f in fields(LogRow)}, id=event_id,
                   episode_id=episode_id)


def snapshot_after(snapshot: EpisodeSnapshot, changes: Changes, new_ids: tuple[int, ...],
                   raised: Sequence[tuple[int, str]] = (),
                   resolved: Collection[int] = ()) -> EpisodeSnapshot:
    """`snapshot` with `changes` applied: new milestones carry the ids the store gave;
    `raised` are the reminders the store newly raised (id, kind), `resolved` the ids of
    those it resolved."""
    closed = {c.id: c for c in changes.closed}
    moved = {m.id: m for m in changes.moved}
    milestones: list[MilestoneSnapshot] = []
    for m in snapshot.milestones:
        if m.id in closed:
            c = closed[m.id]
            m = replace(m, status=c.status, met_on=c.met_on, closed_at=changes.now,
                        next_alert_at=None, next_alert_kind=None)
        elif m.id in moved:
            mv = moved[m.id]
            m = replace(m, next_alert_at=mv.next_alert_at, next_alert_kind=mv.next_alert_kind,
                        status=mv.status or m.status, met_on=mv.met_on or m.met_on,
                        closed_at=changes.now if mv.status else m.closed_at)
        milestones.append(m)
    for new_id, new in zip(new_ids, changes.opened, strict=True):
        milestones.append(MilestoneSnapshot(
            id=new_id, episode_id=snapshot.id, kind=new.kind, status=new.status,
            anchor_on=new.anchor_on, due_on=new.due_on, overdue_on=new.overdue_on,
            due_at=new.due_at, overdue_at=new.overdue_at, next_alert_at=new.next_alert_at,
            next_alert_kind=new.next_alert_kind, met_on=new.met_on, created_at=changes.now,
            closed_at=changes.now if new.status != "open" else None,
            first_of_kind=new.first_of_kind))
    return replace(snapshot, **changes.episode, milestones=tuple(milestones),
                   reminders=_reminders_after(snapshot, changes, new_ids, raised, resolved))


def _reminders_after(snapshot: EpisodeSnapshot, changes: Changes, new_ids: tuple[int, ...],
                     raised: Sequence[tuple[int, str]],
                     resolved: Collection[int]) -> tuple[ReminderSnapshot, ...] | None:
    """The open reminders after the change, soonest due first (None: not known before)."""
    if snapshot.reminders is None:
        return None
    kept = [r for r in snapshot.reminders if r.id not in resolved]
    asked = {r.kind: r for r in changes.raised}
    for rid, kind in raised:
        new = asked[kind]
        milestone = new_ids[new.milestone[1]] if isinstance(new.milestone, tuple) else (
            new.milestone)
        kept.append(ReminderSnapshot(
            id=rid, episode_id=snapshot.id, milestone_id=milestone, kind=kind,
            due_on=new.due_on, priority=new.priority, status=ReminderStatus.OPEN.value,
            rule=new.rule, seeds=list(new.seeds), raised_at=changes.now, assigned_to=None,
            acknowledged_at=None, acknowledged_by=None, acknowledge_note=None,
            snoozed_until=None, snooze_reason=None, escalate_at=new.escalate_at,
            escalated_at=None, resolved_at=None, resolution=None))
    return tuple(sorted(kept, key=lambda r: (r.due_on, r.id)))
