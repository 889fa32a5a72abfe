"""An episode's timeline as plain data: milestone windows, when they were met, the events and
today, in day numbers since day 0. The episode page draws it with Chart.js and shows the same
rows as a table (the chart's text alternative, and the page without JavaScript)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from pathway.labels import label as human_label
from pathway.store.models import EventRecord, Milestone
from pathway.vocabulary import MilestoneStatus

#: How far past today (or the last window) the chart looks ahead.
LOOKAHEAD_DAYS = 28


@dataclass(frozen=True)
class TimelineRow:
    """One milestone's window on the chart."""

    label: str
    kind: str
    status: str  # upcoming | due | overdue | met | met_late | declined | void
    start: int
    end: int
    due_on: str
    overdue_on: str
    met_day: int | None
    met_on: str | None
    overdue_days: int  # > 0 only when still open past its overdue day


@dataclass(frozen=True)
class TimelineEvent:
    """One event of the log, placed on its day."""

    day: int
    name: str
    on: str
    target: str


def _status(m: Milestone, today: dt.date) -> str:
    if m.status == MilestoneStatus.OPEN.value:
        if today >= m.overdue_on:
            return "overdue"
        return "due" if today >= m.due_on else "upcoming"
    if m.status == MilestoneStatus.MET.value:
        return "met_late" if m.met_on is not None and m.met_on > m.overdue_on else "met"
    if m.status in (MilestoneStatus.DECLINED.value, MilestoneStatus.CONTRAINDICATED.value):
        return "declined"
    return "void"


def _labels(milestones: list[Milestone]) -> list[str]:
    totals = Counter(m.kind for m in milestones)
    seen: Counter[str] = Counter()
    labels = []
    for m in milestones:
        seen[m.kind] += 1
        name = human_label(m.kind)
        labels.append(f"{name} ({seen[m.kind]})" if totals[m.kind] > 1 else name)
    return labels


def timeline_rows(
    milestones: list[Milestone], *, day0: dt.date, today: dt.date
) -> list[TimelineRow]:
    """The milestone windows, in the order they were opened."""
    rows = []
    for label, m in zip(_labels(milestones), milestones, strict=True):
        status = _status(m, today)
        rows.append(TimelineRow(
            label=label, kind=m.kind, status=status,
            start=(m.due_on - day0).days, end=(m.overdue_on - day0).days,
            due_on=m.due_on.isoformat(), overdue_on=m.overdue_on.isoformat(),
            met_day=(m.met_on - day0).days if m.met_on else None,
            met_on=m.met_on.isoformat() if m.met_on else None,
            overdue_days=(today - m.overdue_on).days if status == "overdue" else 0,
        ))
    return rows


def timeline_data(
    milestones: list[Milestone], events: list[EventRecord], *, day0: dt.date, today: dt.date
) -> dict[str, Any]:
    """Everything the chart needs, JSON-ready."""
    rows = timeline_rows(milestones, day0=day0, today=today)
    marks = [TimelineEvent((e.occurred_on - day0).days, e.name, e.occurred_on.isoformat(),
                           e.target_state) for e in events]
    today_n = (today - day0).days
    last = max([r.end for r in rows] + [m.day for m in marks] + [today_n], default=today_n)
    first = min([r.start for r in rows] + [m.day for m in marks] + [0], default=0)
    return {
        "day0": day0.isoformat(),
        "today": today_n,
        "x_min": first,
        "x_max": max(last, today_n + LOOKAHEAD_DAYS) + 7,
        "rows": [asdict(r) for r in rows],
        "events": [asdict(m) for m in marks],
    }
