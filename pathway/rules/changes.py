"""What an event or an opening changes, as one value the store applies.

Milestones to be opened are referred to by their position in `Changes.opened` (they have no
id until the store inserts them); the store fills ids in order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NewMilestone:
    """An open milestone with its window and its first alert armed."""

    kind: str
    anchor_on: dt.date
    due_on: dt.date
    overdue_on: dt.date
    due_at: dt.datetime
    overdue_at: dt.datetime
    next_alert_at: dt.datetime | None
    next_alert_kind: str | None
    first_of_kind: bool
    status: str = "open"
    met_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ClosedMilestone:
    """A milestone met, declined, contraindicated or void: it leaves the scheduler's index.
    `resolution` is what its open reminders are resolved with."""

    id: int
    status: str
    met_on: dt.date | None
    resolution: str
    #: The alert as loaded, and whether a scan had raised for it by then: the store looks
    #: for reminders to resolve when it had, or when the row changed since it was loaded.
    loaded_alert_at: dt.datetime | None = None
    alerted: bool = True


@dataclass(frozen=True, slots=True)
class AlertMoved:
    """An existing milestone whose next alert moved on after raising (heads-up -> overdue ->
    none); `status`/`met_on` set when raising it ends it (a notice)."""

    id: int
    next_alert_at: dt.datetime | None
    next_alert_kind: str | None
    status: str | None = None
    met_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class NewReminder:
    """A reminder to raise once for (episode, kind, due date). `milestone` is an existing
    milestone's id, or ("new", i) for `Changes.opened[i]`, or None. `supersedes` is the
    heads-up kind this overdue reminder replaces on its milestone (one reminder per task)."""

    kind: str
    due_on: dt.date
    priority: str
    rule: str
    seeds: list[str]
    escalate_at: dt.datetime | None
    milestone: int | tuple[str, int] | None = None
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class ResolveKinds:
    """Resolve the episode's open reminders of these kinds (all kinds when None)."""

    kinds: tuple[str, ...] | None
    resolution: str


@dataclass(frozen=True, slots=True)
class Record:
    """A clinical record kept beside the log row: an imaging or a therapy."""

    table: str  # "imaging" or "therapy"
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogRow:
    """The event log's row for this event."""

    seq: int
    name: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    actor: str
    source_state: str | None
    target_state: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Changes:
    """Everything one event (or opening) changes, decided by the rules."""

    source: str | None
    target: str
    log: LogRow
    #: Episode columns that change (state, version, summary, intake facts ...).
    episode: dict[str, Any]
    opened: tuple[NewMilestone, ...] = ()
    closed: tuple[ClosedMilestone, ...] = ()
    moved: tuple[AlertMoved, ...] = ()
    raised: tuple[NewReminder, ...] = ()
    resolved: tuple[ResolveKinds, ...] = ()
    records: tuple[Record, ...] = ()
    actor: str = ""
    now: dt.datetime = field(default=dt.datetime.min.replace(tzinfo=dt.UTC))
