"""The key performance indicators of PATHWAY.md, computed from the milestone rows.

The cohort is the episodes whose day 0 falls in a date range (optionally one coordinator's),
leaving out episodes closed as `entered_in_error`. Each rate KPI looks at one milestone kind,
the first such milestone of each episode, and a deadline (its overdue day unless said
otherwise), all read from the episode's own pathway version:

- numerator: met (for drug therapy also declined or contraindicated) on or before the deadline;
- denominator: the numerator, plus milestones met late, still open after the deadline, or
  voided after the deadline (the episode left the state or was closed while overdue).
  Milestones voided before their deadline (the episode took another route) and open ones whose
  deadline has not passed are not counted.

Bands come from the current pathway version (green >= 80 %, amber >= 50 %, else red).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pathway.clock import local_day
from pathway.definition import PathwayDefinition
from pathway.models import Episode, EventRecord, Milestone, Reminder
from pathway.versions import current_version, load_definition
from pathway.vocabulary import (
    CloseReason,
    ContactKind,
    Fact,
    MilestoneKind,
    MilestoneStatus,
    ReminderStatus,
    TransitionEvent,
)

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("91+", 91, None),
)
_THERAPY_DONE = frozenset({MilestoneStatus.MET, MilestoneStatus.DECLINED,
                           MilestoneStatus.CONTRAINDICATED})
_MET = frozenset({MilestoneStatus.MET})
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Kpi:
    """One rate with its numerator, denominator and red / amber / green band."""

    key: str
    title: str
    milestone: str
    deadline_day: int
    numerator: int
    denominator: int
    rate: float | None
    band: str | None
    seeds: tuple[str, ...]


@dataclass(frozen=True)
class MilestoneTiming:
    """Median days from day 0 to a milestone being met."""

    milestone: str
    met: int
    median_days: float | None


@dataclass(frozen=True)
class OverdueReminders:
    """Unresolved overdue reminders of one kind, by age in days since they fell due."""

    kind: str
    count: int
    by_age: dict[str, int]
    oldest_days: int


@dataclass(frozen=True)
class KpiReport:
    """Every KPI of PATHWAY.md for a cohort, as of a day."""

    start: dt.date
    end: dt.date
    as_of: dt.date
    coordinator: str | None
    episodes: int
    kpis: list[Kpi]
    timings: list[MilestoneTiming]
    overdue_reminders: list[OverdueReminders]


@dataclass(frozen=True)
class _Row:
    episode_id: int
    identified_on: dt.date
    definition: PathwayDefinition
    milestone: Milestone



@dataclass(frozen=True)
class _Spec:
    key: str
    title: str
    kind: MilestoneKind
    done: frozenset[MilestoneStatus]
    seeds: tuple[str, ...]
    first_follow_up: bool = False  # deadline: the liaison-monitoring overdue day, not its own


SPECS: tuple[_Spec, ...] = (
    _Spec("reassessment_on_time", "Reassessed by day {day}", MilestoneKind.REASSESSMENT,
          _MET, ("002",)),
    _Spec("followup_imaging_on_time", "Follow-up imaging by day {day}",
          MilestoneKind.FOLLOWUP_IMAGING, _MET, ("002",)),
    _Spec("augmentation_review_on_time", "Augmentation review by day {day}",
          MilestoneKind.AUGMENTATION_REVIEW, _MET, ("000", "001", "002", "003", "004")),
    _Spec("osteoporosis_therapy_on_time",
          "Osteoporosis drug therapy recorded, declined or contraindicated by day {day}",
          MilestoneKind.OSTEOPOROSIS_THERAPY, _THERAPY_DONE, ("001", "002")),
    _Spec("osteoporosis_therapy_by_first_follow_up",
          "Osteoporosis drug therapy recorded, declined or contraindicated by day {day}",
          MilestoneKind.OSTEOPOROSIS_THERAPY, _THERAPY_DONE,
          ("FLS-DB treatment by first follow-up", "IOF started within 16 weeks"),
          first_follow_up=True),
    _Spec("liaison_monitoring_on_time", "Liaison monitoring contact by day {day}",
          MilestoneKind.LIAISON_MONITORING, _MET, ("FLS-DB", "IOF", "004")),
    _Spec("adherence_at_one_year", "Adherent at the one-year review (by day {day})",
          MilestoneKind.ADHERENCE_REVIEW, _MET, ("FLS-DB 1 year drug adherence", "IOF")),
)


def band(rate: float | None, definition: PathwayDefinition) -> str | None:
    """The red / amber / green band of a rate (None when there is nothing to rate)."""
    if rate is None:
        return None
    if rate >= definition.kpi_bands.green:
        return "green"
    return "amber" if rate >= definition.kpi_bands.amber else "red"


def _cohort(query: Select[*Ts], start: dt.date, end: dt.date,
            coordinator: str | None) -> Select[*Ts]:
    query = query.where(Episode.identified_on >= start, Episode.identified_on <= end)
    if coordinator:
        query = query.where(Episode.coordinator == coordinator)
    return query


def _entered_in_error(session: Session, start: dt.date, end: dt.date,
                      coordinator: str | None) -> set[int]:
    query = _cohort(
        select(EventRecord.episode_id, EventRecord.data)
        .join(Episode, Episode.id == EventRecord.episode_id)
        .where(EventRecord.name == TransitionEvent.CLOSE.value), start, end, coordinator)
    return {eid for eid, data in session.execute(query)
            if (data or {}).get("reason") == CloseReason.ENTERED_IN_ERROR.value}


def _adherent(session: Session, start: dt.date, end: dt.date,
              coordinator: str | None) -> dict[int, list[tuple[dt.date, bool]]]:
    query = _cohort(
        select(EventRecord.episode_id, EventRecord.occurred_on, EventRecord.data)
        .join(Episode, Episode.id == EventRecord.episode_id)
        .where(EventRecord.name == Fact.RECORD_CONTACT.value)
        .order_by(EventRecord.episode_id, EventRecord.seq), start, end, coordinator)
    answers: dict[int, list[tuple[dt.date, bool]]] = {}
    for eid, occurred_on, data in session.execute(query):
        if (data or {}).get("kind") == ContactKind.ADHERENCE_REVIEW.value:
            answers.setdefault(eid, []).append((occurred_on, bool(data.get("adherent"))))
    return answers


def _first_rows(session: Session, start: dt.date, end: dt.date, coordinator: str | None,
                excluded: set[int]) -> dict[MilestoneKind, list[_Row]]:
    query = _cohort(
        select(Milestone, Episode.identified_on, Episode.pathway_version)
        .join(Episode, Episode.id == Milestone.episode_id)
        .order_by(Milestone.episode_id, Milestone.id), start, end, coordinator)
    seen: set[tuple[int, str]] = set()
    rows: dict[MilestoneKind, list[_Row]] = {kind: [] for kind in MilestoneKind}
    for milestone, identified_on, version in session.execute(query):
        key = (milestone.episode_id, milestone.kind)
        if milestone.episode_id in excluded or key in seen:
            continue
        seen.add(key)
        definition = load_definition(session, version)
        rows[MilestoneKind(milestone.kind)].append(
            _Row(milestone.episode_id, identified_on, definition, milestone))
    return rows


def _deadline(spec: _Spec, row: _Row) -> dt.date:
    if spec.first_follow_up:
        days = row.definition.milestone(MilestoneKind.LIAISON_MONITORING).overdue_days
        return row.identified_on + dt.timedelta(days=days)
    return row.milestone.overdue_on


def _counts(spec: _Spec, row: _Row, today: dt.date, zone: ZoneInfo,
            adherent: dict[int, list[tuple[dt.date, bool]]]) -> tuple[int, int]:
    """(numerator, denominator) contribution of one milestone."""
    m, deadline = row.milestone, _deadline(spec, row)
    status = MilestoneStatus(m.status)
    if status in spec.done and m.met_on is not None:
        on_time = m.met_on <= deadline
        if spec.kind == MilestoneKind.ADHERENCE_REVIEW:
            answers = [ok for day, ok in adherent.get(row.episode_id, []) if day <= deadline]
            on_time = on_time and bool(answers) and answers[-1]
        return int(on_time), 1
    if status == MilestoneStatus.OPEN:
        return 0, int(today > deadline)
    closed_on = local_day(m.closed_at, zone) if m.closed_at else today
    return 0, int(closed_on > deadline)


def _rate(spec: _Spec, rows: list[_Row], today: dt.date, zone: ZoneInfo,
          adherent: dict[int, list[tuple[dt.date, bool]]],
          current: PathwayDefinition) -> Kpi:
    numerator = denominator = 0
    for row in rows:
        num, den = _counts(spec, row, today, zone, adherent)
        numerator += num
        denominator += den
    rule = current.milestone(spec.kind)
    day = (current.milestone(MilestoneKind.LIAISON_MONITORING).overdue_days
           if spec.first_follow_up else rule.overdue_days)
    rate = numerator / denominator if denominator else None
    return Kpi(key=spec.key, title=spec.title.format(day=day), milestone=spec.kind.value,
               deadline_day=day, numerator=numerator, denominator=denominator, rate=rate,
               band=band(rate, current), seeds=spec.seeds)


def _timings(rows: dict[MilestoneKind, list[_Row]]) -> list[MilestoneTiming]:
    timings = []
    for kind in MilestoneKind:
        if kind == MilestoneKind.CALCITONIN_COURSE_END:
            continue  # a notice the scheduler closes itself, not something people do
        days = [(r.milestone.met_on - r.identified_on).days for r in rows[kind]
                if r.milestone.status == MilestoneStatus.MET and r.milestone.met_on is not None]
        timings.append(MilestoneTiming(kind.value, len(days),
                                       float(statistics.median(days)) if days else None))
    return timings


def _overdue_reminders(session: Session, start: dt.date, end: dt.date,
                       coordinator: str | None, excluded: set[int], today: dt.date,
                       current: PathwayDefinition) -> list[OverdueReminders]:
    heads_up = {r.heads_up_reminder.value for r in current.milestones.values()
                if r.heads_up_reminder is not None}
    query = _cohort(
        select(Reminder.episode_id, Reminder.kind, Reminder.due_on)
        .join(Episode, Episode.id == Reminder.episode_id)
        .where(Reminder.status != ReminderStatus.RESOLVED.value), start, end, coordinator)
    ages: dict[str, list[int]] = {}
    for eid, kind, due_on in session.execute(query):
        if eid not in excluded and kind not in heads_up:
            ages.setdefault(kind, []).append(max(0, (today - due_on).days))
    result = []
    for kind in sorted(ages):
        by_age = {label: sum(1 for a in ages[kind] if a >= low and (high is None or a <= high))
                  for label, low, high in AGE_BUCKETS}
        result.append(OverdueReminders(kind, len(ages[kind]), by_age, max(ages[kind])))
    return result


def compute_kpis(
    session: Session, *, start: dt.date, end: dt.date, now: dt.datetime, zone: ZoneInfo,
    coordinator: str | None = None,
) -> KpiReport:
    """The KPIs of the episodes with day 0 in [start, end], as of `now`."""
    today = local_day(now, zone)
    current = load_definition(session, current_version(session))
    excluded = _entered_in_error(session, start, end, coordinator)
    adherent = _adherent(session, start, end, coordinator)
    rows = _first_rows(session, start, end, coordinator, excluded)
    episodes = {r.episode_id for kind_rows in rows.values() for r in kind_rows}
    kpis = [_rate(spec, rows[spec.kind], today, zone, adherent, current) for spec in SPECS]
    return KpiReport(
        start=start, end=end, as_of=today, coordinator=coordinator, episodes=len(episodes),
        kpis=kpis, timings=_timings(rows),
        overdue_reminders=_overdue_reminders(session, start, end, coordinator, excluded,
                                             today, current),
    )


@dataclass(frozen=True)
class MonthlyKpis:
    """The rate KPIs of one month's cohort (episodes whose day 0 falls in that month)."""

    month: dt.date  # the first day of the month
    kpis: list[Kpi]


def monthly_kpis(
    session: Session, *, start: dt.date, end: dt.date, now: dt.datetime, zone: ZoneInfo,
    coordinator: str | None = None,
) -> list[MonthlyKpis]:
    """The rate KPIs by month of day 0 within [start, end] (the dashboard's trend), from one
    read of the cohort rather than one `compute_kpis` per month; months without episodes are
    left out."""
    today = local_day(now, zone)
    current = load_definition(session, current_version(session))
    excluded = _entered_in_error(session, start, end, coordinator)
    adherent = _adherent(session, start, end, coordinator)
    months: dict[dt.date, dict[MilestoneKind, list[_Row]]] = {}
    for kind, kind_rows in _first_rows(session, start, end, coordinator, excluded).items():
        for row in kind_rows:
            month = row.identified_on.replace(day=1)
            months.setdefault(month, {k: [] for k in MilestoneKind})[kind].append(row)
    return [
        MonthlyKpis(month, [_rate(spec, months[month][spec.kind], today, zone, adherent, current)
                            for spec in SPECS])
        for month in sorted(months)
    ]
