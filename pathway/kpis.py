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

The counting is the store's (`pathway.store.kpi_counts`: the database groups the first
milestones by what the rules look at, so memory does not grow with the cohort); this module
says what each KPI is and does the arithmetic on the groups: numerators, denominators, whether
a closing near a deadline is late in the site's zone, the last adherence answer, medians of
days to met as histograms, and the ages of overdue reminders.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pathway.clock import local_day
from pathway.definition import PathwayDefinition
from pathway.store.kpi_counts import (
    LATE,
    LISTED_EXCLUSIONS,
    NOT_LATE,
    Cohort,
    MilestoneGroup,
    RatedKinds,
    adherence_answers,
    entered_in_error,
    episodes_with_milestones,
    milestone_groups,
    stored_versions,
    unresolved_reminders,
)
from pathway.store.versions import current_version, load_definition
from pathway.vocabulary import ContactKind, MilestoneKind, MilestoneStatus

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("91+", 91, None),
)
_THERAPY_DONE = frozenset({MilestoneStatus.MET, MilestoneStatus.DECLINED,
                           MilestoneStatus.CONTRAINDICATED})
_MET = frozenset({MilestoneStatus.MET})


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

#: The rates of each milestone kind.
_SPECS_OF: dict[MilestoneKind, tuple[_Spec, ...]] = {
    kind: tuple(s for s in SPECS if s.kind == kind) for kind in {s.kind for s in SPECS}
}
#: Statuses that are done for every rate: a milestone met in one of them is never late.
_DONE_FOR_EVERY_RATE = frozenset.intersection(*(s.done for s in SPECS))

#: What the store's groups must say of each first milestone for these rates.
_RATED = RatedKinds(
    own_deadline=tuple(s.kind.value for s in SPECS if not s.first_follow_up),
    first_follow_up=tuple(s.kind.value for s in SPECS if s.first_follow_up),
    done_for_every_rate=tuple(s.value for s in _DONE_FOR_EVERY_RATE),
)
#: The store's limit, passed on (`Cohort.listed_exclusions`) so a test can set it here.
_LISTED_EXCLUSIONS = LISTED_EXCLUSIONS


def band(rate: float | None, definition: PathwayDefinition) -> str | None:
    """The red / amber / green band of a rate (None when there is nothing to rate)."""
    if rate is None:
        return None
    if rate >= definition.kpi_bands.green:
        return "green"
    return "amber" if rate >= definition.kpi_bands.amber else "red"


def _month(year: Any, month: Any) -> dt.date | None:
    """The first day of a group's month (None for a tally not split by month)."""
    return None if year is None else dt.date(int(year), int(month), 1)


@dataclass
class _Tally:
    """Numerators and denominators of each rate, and days from day 0 to met by kind."""

    numerators: Counter[str] = field(default_factory=Counter)
    denominators: Counter[str] = field(default_factory=Counter)
    met_days: dict[MilestoneKind, Counter[int]] = field(default_factory=dict)
    #: The pathway versions the counted episodes are on (their kinds are the timings').
    versions: set[int] = field(default_factory=set)


def _late(code: Any, closed_at: dt.datetime | None, zone: ZoneInfo) -> int:
    """Whether a milestone not done counts as late against a deadline (see `LATE` in the
    store): one closed `code` UTC days after the deadline is late if its local day is after it."""
    if code == LATE:
        return 1
    if code == NOT_LATE:
        return 0
    assert closed_at is not None
    return int((local_day(closed_at, zone) - closed_at.date()).days + code > 0)


def _counts(spec: _Spec, group: MilestoneGroup, cohort: Cohort,
            zone: ZoneInfo) -> tuple[int, int]:
    """(numerator, denominator) contribution of one milestone of a group; the numerator of an
    adherence review met on time comes from its answers (`_adherent_episodes`)."""
    status = MilestoneStatus(group.status)
    if status in spec.done and group.met_days is not None:
        if spec.kind == MilestoneKind.ADHERENCE_REVIEW:
            return 0, 1
        if spec.first_follow_up:
            return int(group.met_days <= cohort.follow_up_days[group.version]), 1
        assert group.met_by_overdue is not None  # met, so 1 (by the overdue day) or 0
        return int(group.met_by_overdue), 1
    code = group.late_follow_up if spec.first_follow_up else group.late_own
    return 0, _late(code, group.closed_at, zone)


def _add(tally: _Tally, group: MilestoneGroup, cohort: Cohort, zone: ZoneInfo) -> None:
    """Count one group of milestones into a tally."""
    kind = MilestoneKind(group.kind)
    tally.versions.add(int(group.version))
    if (kind != MilestoneKind.CALCITONIN_COURSE_END and group.status == MilestoneStatus.MET
            and group.met_days is not None):
        tally.met_days.setdefault(kind, Counter())[int(group.met_days)] += group.n
    for spec in _SPECS_OF.get(kind, ()):
        numerator, denominator = _counts(spec, group, cohort, zone)
        tally.numerators[spec.key] += numerator * group.n
        tally.denominators[spec.key] += denominator * group.n


def _adherent_episodes(session: Session, cohort: Cohort, spec: _Spec) -> Counter[dt.date | None]:
    """Episodes (by month) whose adherence review was met on time and whose last answer by
    then was adherent: the numerator of `spec`."""
    answers = adherence_answers(session, cohort, kind=spec.kind.value,
                                done=[s.value for s in spec.done])
    adherent: Counter[dt.date | None] = Counter()
    by_episode = itertools.groupby(answers, key=lambda a: (a.episode_id, a.year, a.month))
    for (_episode, year, month), said_by in by_episode:
        said = [bool(a.data.get("adherent")) for a in said_by
                if a.data and a.data.get("kind") == ContactKind.ADHERENCE_REVIEW.value]
        if said and said[-1]:
            adherent[_month(year, month)] += 1
    return adherent


def _tallies(session: Session, cohort: Cohort, zone: ZoneInfo) -> dict[dt.date | None, _Tally]:
    """The tally of the whole cohort (key None), or of each month of day 0."""
    tallies: dict[dt.date | None, _Tally] = {}
    for group in milestone_groups(session, cohort, _RATED):
        _add(tallies.setdefault(_month(group.year, group.month), _Tally()), group, cohort, zone)
    for spec in SPECS:
        if spec.kind == MilestoneKind.ADHERENCE_REVIEW:
            for month, count in _adherent_episodes(session, cohort, spec).items():
                tallies[month].numerators[spec.key] += count
    return tallies


def _kpi(spec: _Spec, tally: _Tally, current: PathwayDefinition) -> Kpi:
    """One rate KPI from a tally; its deadline day and band from the current version."""
    numerator, denominator = tally.numerators[spec.key], tally.denominators[spec.key]
    rule = current.milestone(spec.kind)
    day = (current.milestone(MilestoneKind.LIAISON_MONITORING).overdue_days
           if spec.first_follow_up else rule.overdue_days)
    rate = numerator / denominator if denominator else None
    return Kpi(key=spec.key, title=spec.title.format(day=day), milestone=spec.kind.value,
               deadline_day=day, numerator=numerator, denominator=denominator, rate=rate,
               band=band(rate, current), seeds=spec.seeds)


def _nth(days: Counter[int], index: int) -> int:
    """The value at `index` (from 0) of a histogram's values in order."""
    seen = 0
    for value in sorted(days):
        seen += days[value]
        if seen > index:
            return value
    raise IndexError(index)


def _median(days: Counter[int]) -> float | None:
    """The median of a histogram of day counts, as `statistics.median` gives it."""
    total = sum(days.values())
    if not total:
        return None
    if total % 2:
        return float(_nth(days, total // 2))
    return float((_nth(days, total // 2 - 1) + _nth(days, total // 2)) / 2)


def _timings(session: Session, tally: _Tally,
             current: PathwayDefinition) -> list[MilestoneTiming]:
    """Median days from day 0 to met, for each kind people act on in the versions of the
    cohort's episodes (the current one's when there are none)."""
    kinds = {k for v in tally.versions for k in load_definition(session, v).milestones} or set(
        current.milestones)
    timings = []
    for kind in MilestoneKind:
        if kind == MilestoneKind.CALCITONIN_COURSE_END or kind not in kinds:
            continue  # a notice the scheduler closes itself, not something people do
        days = tally.met_days.get(kind, Counter())
        timings.append(MilestoneTiming(kind.value, sum(days.values()), _median(days)))
    return timings


def _overdue_reminders(session: Session, cohort: Cohort,
                       current: PathwayDefinition) -> list[OverdueReminders]:
    """Unresolved reminders of the cohort but heads-ups, by kind and age (counted by due day
    in the database)."""
    heads_up = {r.heads_up_reminder.value for r in current.milestones.values()
                if r.heads_up_reminder is not None}
    ages: dict[str, Counter[int]] = {}
    for kind, due_on, count in unresolved_reminders(session, cohort):
        if kind not in heads_up:
            ages.setdefault(kind, Counter())[max(0, (cohort.today - due_on).days)] += count
    result = []
    for kind in sorted(ages):
        by_age = {label: sum(n for a, n in ages[kind].items()
                             if a >= low and (high is None or a <= high))
                  for label, low, high in AGE_BUCKETS}
        result.append(OverdueReminders(kind, sum(ages[kind].values()), by_age,
                                       max(ages[kind])))
    return result


def _cohort(session: Session, *, start: dt.date, end: dt.date, now: dt.datetime,
            zone: ZoneInfo, coordinator: str | None, by_month: bool) -> Cohort:
    """The cohort of a report: its episodes entered in error and each stored version's
    liaison-monitoring overdue day (there are few versions; their definitions are cached)."""
    follow_up_days = {
        version: load_definition(session, version).milestone(
            MilestoneKind.LIAISON_MONITORING).overdue_days
        for version in stored_versions(session)}
    cohort = Cohort(start=start, end=end, coordinator=coordinator, today=local_day(now, zone),
                    follow_up_days=follow_up_days, by_month=by_month,
                    listed_exclusions=_LISTED_EXCLUSIONS)
    return dataclasses.replace(cohort, excluded=entered_in_error(session, cohort))


def _report(session: Session, cohort: Cohort, tally: _Tally,
            current: PathwayDefinition) -> KpiReport:
    return KpiReport(
        start=cohort.start, end=cohort.end, as_of=cohort.today, coordinator=cohort.coordinator,
        episodes=episodes_with_milestones(session, cohort),
        kpis=[_kpi(spec, tally, current) for spec in SPECS],
        timings=_timings(session, tally, current),
        overdue_reminders=_overdue_reminders(session, cohort, current),
    )


def compute_kpis(
    session: Session, *, start: dt.date, end: dt.date, now: dt.datetime, zone: ZoneInfo,
    coordinator: str | None = None,
) -> KpiReport:
    """The KPIs of the episodes with day 0 in [start, end], as of `now`."""
    cohort = _cohort(session, start=start, end=end, now=now, zone=zone,
                     coordinator=coordinator, by_month=False)
    current = load_definition(session, current_version(session))
    tally = _tallies(session, cohort, zone).get(None, _Tally())
    return _report(session, cohort, tally, current)


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
    cohort = _cohort(session, start=start, end=end, now=now, zone=zone,
                     coordinator=coordinator, by_month=True)
    current = load_definition(session, current_version(session))
    return _monthly(_tallies(session, cohort, zone), current)


def _monthly(tallies: Mapping[dt.date | None, _Tally],
             current: PathwayDefinition) -> list[MonthlyKpis]:
    return [
        MonthlyKpis(month, [_kpi(spec, tallies[month], current) for spec in SPECS])
        for month in sorted(m for m in tallies if m is not None)
    ]


def _merged(tallies: Iterable[_Tally]) -> _Tally:
    """One tally of several cohorts' (months'): every count is a sum."""
    total = _Tally()
    for tally in tallies:
        total.numerators.update(tally.numerators)
        total.denominators.update(tally.denominators)
        total.versions |= tally.versions
        for kind, days in tally.met_days.items():
            total.met_days.setdefault(kind, Counter()).update(days)
    return total


def kpis_with_trend(
    session: Session, *, start: dt.date, end: dt.date, now: dt.datetime, zone: ZoneInfo,
    coordinator: str | None = None,
) -> tuple[KpiReport, list[MonthlyKpis]]:
    """`compute_kpis` and `monthly_kpis` over the same range (the dashboard's KPI page) from
    one read of the cohort: the report's counts are the sums of the months' (each rate's
    numerator and denominator, each histogram of days to met), so the milestones are read and
    grouped once instead of twice."""
    cohort = _cohort(session, start=start, end=end, now=now, zone=zone,
                     coordinator=coordinator, by_month=True)
    current = load_definition(session, current_version(session))
    tallies = _tallies(session, cohort, zone)
    whole = dataclasses.replace(cohort, by_month=False)
    return (_report(session, whole, _merged(tallies.values()), current),
            _monthly(tallies, current))
