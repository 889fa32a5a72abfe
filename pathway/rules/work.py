"""The working state of one decision: what the rules have decided so far for an episode.

`pathway.rules.decide` fills it step by step (close this milestone, open that one, raise,
resolve); `changes` freezes it into the `Changes` value the store applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from pathway.definition import MilestoneRule
from pathway.rules.alerts import Alerting, due_alerts, first_alert, new_milestone
from pathway.rules.changes import (
    AlertMoved,
    Changes,
    ClosedMilestone,
    LogRow,
    NewMilestone,
    NewReminder,
    Record,
    ResolveKinds,
)
from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot
from pathway.rules.table import RuleTable
from pathway.vocabulary import MilestoneStatus

_VOID = MilestoneStatus.VOID.value
_OPEN = MilestoneStatus.OPEN.value


class Work:
    """Decisions so far for one episode and one event."""

    def __init__(self, snapshot: EpisodeSnapshot, table: RuleTable, *, occurred_on: dt.date,
                 zone: ZoneInfo, now: dt.datetime) -> None:
        self.snapshot, self.table = snapshot, table
        self.occurred_on, self.zone, self.now = occurred_on, zone, now
        self.opened: list[NewMilestone] = []
        self.closed: list[ClosedMilestone] = []
        self.moved: list[AlertMoved] = []
        self.raised: list[NewReminder] = []
        self.resolved: list[ResolveKinds] = []
        self.records: list[Record] = []
        self.episode: dict[str, Any] = {}
        self._closed_ids: set[int] = set()

    def _still_open(self) -> list[MilestoneSnapshot]:
        return [m for m in self.snapshot.milestones
                if m.is_open and m.id not in self._closed_ids]

    def open_of(self, kind: str) -> list[int | tuple[str, int]]:
        """The open milestones of `kind`, stored (ids) and new (("new", index))."""
        refs: list[int | tuple[str, int]] = [m.id for m in self._still_open() if m.kind == kind]
        refs += [("new", i) for i, m in enumerate(self.opened)
                 if m.kind == kind and m.status == _OPEN]
        return refs

    def ever_had(self, kind: str) -> bool:
        """Whether the episode has had a milestone of `kind`, this decision's included."""
        return any(m.kind == kind for m in self.snapshot.milestones) or any(
            m.kind == kind for m in self.opened)

    def met(self, kind: str) -> bool:
        """Whether a milestone of `kind` has been met, by this decision included."""
        now_met = {c.id for c in self.closed if c.status == MilestoneStatus.MET.value}
        return any(m.kind == kind and (m.status == MilestoneStatus.MET.value or m.id in now_met)
                   for m in self.snapshot.milestones) or any(
            m.kind == kind and m.status == MilestoneStatus.MET.value for m in self.opened)

    def close(self, kind: str, status: str, on: dt.date) -> None:
        """Close the stored open milestones of `kind` as met, void, declined or
        contraindicated; their open reminders are resolved with them."""
        resolution = "no_longer_applies" if status == _VOID else "milestone_met"
        for milestone in self._still_open():
            if milestone.kind != kind:
                continue
            self._closed_ids.add(milestone.id)
            self.closed.append(ClosedMilestone(
                id=milestone.id, status=status, met_on=None if status == _VOID else on,
                resolution=resolution, loaded_alert_at=milestone.next_alert_at,
                alerted=self._has_alerted(milestone)))

    def _has_alerted(self, milestone: MilestoneSnapshot) -> bool:
        """Whether a scan has raised a reminder for it (only a scan moves its alert on)."""
        rule = self.table.milestone(milestone.kind)
        first_at, _kind = first_alert(rule, milestone.due_at, milestone.overdue_at)
        return milestone.next_alert_at != first_at

    def close_all(self) -> None:
        """The episode is closed: every open milestone void, every open reminder resolved."""
        for kind in dict.fromkeys(m.kind for m in self._still_open()):
            self.close(kind, _VOID, self.occurred_on)
        self.resolved.append(ResolveKinds(None, "episode_closed"))

    def open(self, kind: str, rule: MilestoneRule, anchor_on: dt.date,
             due_days: int | None = None) -> None:
        """Open a milestone of `kind` counted from `anchor_on`."""
        self.opened.append(new_milestone(kind, rule, anchor_on, self.zone,
                                         first_of_kind=not self.ever_had(kind),
                                         due_days=due_days))

    def resolve(self, kinds: tuple[str, ...], resolution: str) -> None:
        """Resolve the episode's open reminders of `kinds` (none: nothing). Kinds that only
        events raise, when the snapshot says none of those is open, need no look."""
        if not kinds:
            return
        if self.snapshot.open_unattached or not set(kinds) <= self.table.event_raised:
            self.resolved.append(ResolveKinds(kinds, resolution))

    def raise_due(self) -> None:
        """Raise what the episode's open milestones have due by now (an episode moved or
        opened late), and move their alerts on, as the scan would."""
        definition = self.table.definition
        for stored in self._still_open():
            if stored.next_alert_at is None or stored.next_alert_at > self.now:
                continue
            found, moved = due_alerts(definition, _alerting(stored), self.now, stored.id)
            self.raised += found
            if moved is not None:
                self.moved.append(moved)
        for index, new in enumerate(self.opened):
            found, moved = due_alerts(definition, _alerting(new), self.now, ("new", index))
            self.raised += found
            if moved is not None:
                self.opened[index] = replace(
                    new, next_alert_at=moved.next_alert_at,
                    next_alert_kind=moved.next_alert_kind, status=moved.status or new.status,
                    met_on=moved.met_on)

    def summary(self) -> dict[str, Any]:
        """The episode's next-overdue columns, from its open milestones after the change."""
        ended = {m.id for m in self.moved if m.status is not None}
        keys: list[tuple[dt.datetime, int, str]] = [
            (m.overdue_at, m.id, m.kind) for m in self._still_open() if m.id not in ended]
        base = 1 << 62  # new rows get ids after every stored one, in order
        keys += [(m.overdue_at, base + i, m.kind) for i, m in enumerate(self.opened)
                 if m.status == _OPEN]
        soonest = min(keys, default=None)
        return {"next_overdue_at": soonest[0] if soonest else None,
                "next_milestone": soonest[2] if soonest else None}

    def changes(self, *, source: str | None, target: str, log: LogRow,
                episode: dict[str, Any], actor: str) -> Changes:
        """The decision, frozen."""
        return Changes(source=source, target=target, log=log, episode=episode,
                       opened=tuple(self.opened), closed=tuple(self.closed),
                       moved=tuple(self.moved), raised=tuple(self.raised),
                       resolved=tuple(self.resolved), records=tuple(self.records),
                       actor=actor, now=self.now)


def _alerting(m: MilestoneSnapshot | NewMilestone) -> Alerting:
    return Alerting(m.kind, m.due_on, m.overdue_on, m.overdue_at, m.next_alert_at,
                    m.next_alert_kind)
