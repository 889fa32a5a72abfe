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

How it is computed, in memory that does not grow with the cohort: the database picks the
first milestone of each (episode, kind) and groups them by what the rules look at (kind,
status, pathway version, month of day 0, days from day 0 to met, whether met by the overdue
day, how a milestone not done stands against each deadline); Python counts the groups, the
days to met as histograms. Two things need a row per milestone or episode, both read as a
stream: a milestone closed within a day of its deadline counting UTC days, where its closing
day in the site's zone decides, and the answers of an adherence review met on time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Select,
    SQLColumnExpression,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session

from pathway.clock import local_day
from pathway.definition import PathwayDefinition
from pathway.models import Day, Episode, EventRecord, Milestone, PathwayVersion, Reminder
from pathway.store.versions import current_version, load_definition
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

#: Rows fetched at a time from a streamed result.
STREAM_BATCH = 2000


#: Microseconds in a day: a SQLite instant to its day number.
_MICROS_PER_DAY = 86_400_000_000


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

# How a milestone not done stands against one deadline, as the database groups it: the UTC days
# from the deadline to its closing, clamped to _NOT_LATE..._LATE. A day in the site's zone is
# less than a day away from the UTC one, so only a closing 0 or 1 UTC days after the deadline
# (_NEAR) needs its local day, looked at in Python. An open milestone (or one closed at no
# recorded time) is _LATE once its deadline has passed, else _NOT_LATE.
_NOT_LATE, _LATE = -1, 2
_NEAR = (0, 1)
#: Episodes entered in error listed in the queries up to this many (else a subquery).
_LISTED_EXCLUSIONS = 1000


def band(rate: float | None, definition: PathwayDefinition) -> str | None:
    """The red / amber / green band of a rate (None when there is nothing to rate)."""
    if rate is None:
        return None
    if rate >= definition.kpi_bands.green:
        return "green"
    return "amber" if rate >= definition.kpi_bands.amber else "red"


@dataclass(frozen=True)
class _Cohort:
    """Which episodes are counted and what the rules compare against."""

    start: dt.date
    end: dt.date
    coordinator: str | None
    today: dt.date
    zone: ZoneInfo
    sqlite: bool
    follow_up_days: Mapping[int, int]  # liaison-monitoring overdue day by pathway version
    excluded: frozenset[int]
    by_month: bool

    def dated(self, query: Select[*Ts]) -> Select[*Ts]:
        """Restrict a query that joins `Episode` to the date range and coordinator."""
        query = query.where(Episode.identified_on >= self.start,
                            Episode.identified_on <= self.end)
        if self.coordinator:
            query = query.where(Episode.coordinator == self.coordinator)
        return query

    def of(self, query: Select[*Ts]) -> Select[*Ts]:
        """Restrict a query that joins `Episode` to the cohort's episodes."""
        excluded: Iterable[int] | Select[int] = (
            sorted(self.excluded) if len(self.excluded) <= _LISTED_EXCLUSIONS
            else _entered_in_error(self))
        return self.dated(query).where(Episode.id.not_in(excluded))

    def days(self, later: SQLColumnExpression[Any],
             earlier: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
        """Whole days from one day to another: a difference of day numbers on SQLite
        (`pathway.models.Day`), of dates on PostgreSQL; an integer either way (not a day: its
        result must not be read back as one). Each side keeps its own type, so a bound day
        is bound as a day."""
        return type_coerce(later - earlier, Integer)

    def utc_day(self, instant: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
        """The UTC calendar day of a stored timestamp, as days are stored (SQLite: integer
        microseconds since 1970 to integer days since 1970, `pathway.models.SQLiteInstant`
        and `SQLiteDay`; PostgreSQL: naive UTC to date). Timestamps are never before 1970."""
        if self.sqlite:
            return type_coerce(instant, Integer) // _MICROS_PER_DAY
        return cast(instant, Date)

    def month(self) -> list[ColumnElement[Any]]:
        """Year and month of day 0, when the tallies are split by month."""
        if not self.by_month:
            return [null().label("year"), null().label("month")]
        if self.sqlite:  # a day number as a date SQLite's functions read
            day = func.date(type_coerce(Episode.identified_on, Integer) * 86400, "unixepoch")
            return [cast(func.strftime("%Y", day), Integer).label("year"),
                    cast(func.strftime("%m", day), Integer).label("month")]
        return [extract("year", Episode.identified_on).label("year"),
                extract("month", Episode.identified_on).label("month")]


def _entered_in_error(cohort: _Cohort) -> Select[int]:
    """The episodes in the date range closed as entered in error."""
    return cohort.dated(
        select(EventRecord.episode_id)
        .join(Episode, Episode.id == EventRecord.episode_id)
        # The name written into the SQL, not bound: SQLite uses a partial index
        # (ix_events_closings) only when it can see the query matches its condition.
        .where(EventRecord.name == literal_column(f"'{TransitionEvent.CLOSE.value}'"),
               EventRecord.data["reason"].as_string() == CloseReason.ENTERED_IN_ERROR.value))


def _first_of_its_kind() -> ColumnElement[bool]:
    """The milestone is its episode's first of its kind (kept on the row when it is opened;
    looking for an earlier one per milestone was a third of a report on SQLite)."""
    return Milestone.first_of_kind == true()


def _lateness(passed: SQLColumnExpression[bool],
              closed_after: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """How a milestone not done stands against a deadline (see _LATE), given whether today is
    past the deadline and the UTC days from the deadline to the closing; None for a milestone
    met, which is done for every rate."""
    return case(
        (and_(Milestone.met_on.is_not(None),
              Milestone.status.in_([s.value for s in _DONE_FOR_EVERY_RATE])), None),
        (or_(Milestone.status == MilestoneStatus.OPEN.value, Milestone.closed_at.is_(None)),
         case((passed, _LATE), else_=_NOT_LATE)),
        (closed_after >= _LATE, _LATE),
        (closed_after <= _NOT_LATE, _NOT_LATE),
        else_=closed_after,  # one of _NEAR
    )


def _fact_columns(cohort: _Cohort) -> list[ColumnElement[Any]]:
    """What the rules look at in a first milestone, with little variety so groups are few."""
    today = literal(cohort.today, Day())
    follow_up = case(cohort.follow_up_days, value=Episode.pathway_version)
    closed_day = cohort.utc_day(Milestone.closed_at)
    own_kinds = [s.kind.value for s in SPECS if not s.first_follow_up]
    follow_up_kinds = [s.kind.value for s in SPECS if s.first_follow_up]
    own = _lateness(Milestone.overdue_on < today, cohort.days(closed_day, Milestone.overdue_on))
    first_follow_up = _lateness(
        cohort.days(today, Episode.identified_on) > follow_up,
        cohort.days(closed_day, Episode.identified_on) - follow_up)
    return [
        Milestone.kind.label("kind"), Milestone.status.label("status"),
        Episode.pathway_version.label("version"), *cohort.month(),
        case((Milestone.met_on.is_not(None),
              cohort.days(Milestone.met_on, Episode.identified_on))).label("met_days"),
        case((Milestone.met_on.is_(None), None), (Milestone.met_on <= Milestone.overdue_on, 1),
             else_=0).label("met_by_overdue"),
        case((Milestone.kind.in_(own_kinds), own)).label("late_own"),
        case((Milestone.kind.in_(follow_up_kinds), first_follow_up)).label("late_follow_up"),
        Milestone.closed_at.label("closed_at"),
    ]


def _groups(session: Session, cohort: _Cohort) -> Iterator[Row[Any]]:
    """The cohort's first milestones grouped by what the rules look at, with their count; the
    closing time is kept only where it decides."""
    facts = cohort.of(select(*_fact_columns(cohort))
                      .join(Episode, Episode.id == Milestone.episode_id)
                      .where(_first_of_its_kind())).subquery("facts")
    near = or_(facts.c.late_own.in_(_NEAR), facts.c.late_follow_up.in_(_NEAR))
    keyed = select(*(c for c in facts.c if c.name != "closed_at"),
                   case((near, facts.c.closed_at)).label("closed_at")).subquery("keyed")
    query: Select[Any] = select(*keyed.c, func.count().label("n")).group_by(*keyed.c)
    yield from session.execute(query.execution_options(yield_per=STREAM_BATCH))


def _month(year: Any, month: Any) -> dt.date | None:
    """The first day of a group's month (None for a tally not split by month)."""
    return None if year is None else dt.date(int(year), int(month), 1)


@dataclass
class _Tally:
    """Numerators and denominators of each rate, and days from day 0 to met by kind."""

    numerators: Counter[str] = field(default_factory=Counter)
    denominators: Counter[str] = field(default_factory=Counter)
    met_days: dict[MilestoneKind, Counter[int]] = field(default_factory=dict)


def _late(code: Any, closed_at: dt.datetime | None, zone: ZoneInfo) -> int:
    """Whether a milestone not done counts as late against a deadline (see _LATE): one
    closed `code` UTC days after the deadline is late if its local day is after it."""
    if code == _LATE:
        return 1
    if code == _NOT_LATE:
        return 0
    assert closed_at is not None
    return int((local_day(closed_at, zone) - closed_at.date()).days + code > 0)


def _counts(spec: _Spec, group: Row[Any], cohort: _Cohort) -> tuple[int, int]:
    """(numerator, denominator) contribution of one milestone of a group; the numerator of an
    adherence review met on time comes from its answers (`_adherent_episodes`)."""
    status = MilestoneStatus(group.status)
    if status in spec.done and group.met_days is not None:
        if spec.kind == MilestoneKind.ADHERENCE_REVIEW:
            return 0, 1
        if spec.first_follow_up:
            return int(group.met_days <= cohort.follow_up_days[group.version]), 1
        return int(group.met_by_overdue), 1
    code = group.late_follow_up if spec.first_follow_up else group.late_own
    return 0, _late(code, group.closed_at, cohort.zone)


def _add(tally: _Tally, group: Row[Any], cohort: _Cohort) -> None:
    """Count one group of milestones into a tally."""
    kind = MilestoneKind(group.kind)
    if (kind != MilestoneKind.CALCITONIN_COURSE_END and group.status == MilestoneStatus.MET
            and group.met_days is not None):
        tally.met_days.setdefault(kind, Counter())[int(group.met_days)] += group.n
    for spec in _SPECS_OF.get(kind, ()):
        numerator, denominator = _counts(spec, group, cohort)
        tally.numerators[spec.key] += numerator * group.n
        tally.denominators[spec.key] += denominator * group.n


def _adherence_answers(cohort: _Cohort, spec: _Spec) -> Select[Any]:
    """Each adherence-review answer on or before the deadline (the review's overdue day) of an
    episode whose review was met by then, by episode then in the order recorded."""
    return cohort.of(
        select(Milestone.episode_id, *cohort.month(), EventRecord.data)
        .join(Episode, Episode.id == Milestone.episode_id)
        .join(EventRecord, and_(
            EventRecord.episode_id == Milestone.episode_id,
            EventRecord.name == Fact.RECORD_CONTACT.value,
            EventRecord.data["kind"].as_string() == ContactKind.ADHERENCE_REVIEW.value,
            EventRecord.occurred_on <= Milestone.overdue_on))
        .where(Milestone.kind == spec.kind.value, _first_of_its_kind(),
               Milestone.status.in_([s.value for s in spec.done]),
               Milestone.met_on.is_not(None), Milestone.met_on <= Milestone.overdue_on)
        .order_by(Milestone.episode_id, EventRecord.seq))


def _adherent_episodes(session: Session, cohort: _Cohort, spec: _Spec) -> Counter[dt.date | None]:
    """Episodes (by month) whose adherence review was met on time and whose last answer by
    then was adherent: the numerator of `spec`."""
    rows = session.execute(_adherence_answers(cohort, spec)
                           .execution_options(yield_per=STREAM_BATCH))
    adherent: Counter[dt.date | None] = Counter()
    for (_episode, year, month), answers in itertools.groupby(rows, key=lambda r: tuple(r[:3])):
        said = [bool(data.get("adherent")) for *_, data in answers
                if (data or {}).get("kind") == ContactKind.ADHERENCE_REVIEW.value]
        if said and said[-1]:
            adherent[_month(year, month)] += 1
    return adherent


def _tallies(session: Session, cohort: _Cohort) -> dict[dt.date | None, _Tally]:
    """The tally of the whole cohort (key None), or of each month of day 0."""
    tallies: dict[dt.date | None, _Tally] = {}
    for group in _groups(session, cohort):
        _add(tallies.setdefault(_month(group.year, group.month), _Tally()), group, cohort)
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


def _timings(tally: _Tally) -> list[MilestoneTiming]:
    """Median days from day 0 to met, for each kind people act on."""
    timings = []
    for kind in MilestoneKind:
        if kind == MilestoneKind.CALCITONIN_COURSE_END:
            continue  # a notice the scheduler closes itself, not something people do
        days = tally.met_days.get(kind, Counter())
        timings.append(MilestoneTiming(kind.value, sum(days.values()), _median(days)))
    return timings


def _episodes(session: Session, cohort: _Cohort) -> int:
    """Episodes of the cohort with at least one milestone."""
    query = cohort.of(select(func.count()).select_from(Episode).where(
        select(Milestone.id).where(Milestone.episode_id == Episode.id).exists()))
    return int(session.execute(query).scalar_one())


def _overdue_reminders(session: Session, cohort: _Cohort,
                       current: PathwayDefinition) -> list[OverdueReminders]:
    """Unresolved reminders of the cohort but heads-ups, by kind and age (counted by due day
    in the database)."""
    heads_up = {r.heads_up_reminder.value for r in current.milestones.values()
                if r.heads_up_reminder is not None}
    query = cohort.of(
        select(Reminder.kind, Reminder.due_on, func.count())
        .join(Episode, Episode.id == Reminder.episode_id)
        .where(Reminder.status != ReminderStatus.RESOLVED.value)
        .group_by(Reminder.kind, Reminder.due_on))
    ages: dict[str, Counter[int]] = {}
    for kind, due_on, count in session.execute(query):
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
            zone: ZoneInfo, coordinator: str | None, by_month: bool) -> _Cohort:
    """The cohort of a report: its episodes entered in error and each stored version's
    liaison-monitoring overdue day (there are few versions; their definitions are cached)."""
    versions = session.scalars(select(PathwayVersion.version)).all()
    follow_up_days = {
        version: load_definition(session, version).milestone(
            MilestoneKind.LIAISON_MONITORING).overdue_days
        for version in versions}
    cohort = _Cohort(start=start, end=end, coordinator=coordinator, today=local_day(now, zone),
                     zone=zone, sqlite=session.get_bind().dialect.name == "sqlite",
                     follow_up_days=follow_up_days, excluded=frozenset(), by_month=by_month)
    excluded = frozenset(session.scalars(_entered_in_error(cohort)))
    return dataclasses.replace(cohort, excluded=excluded)


def _report(session: Session, cohort: _Cohort, tally: _Tally,
            current: PathwayDefinition) -> KpiReport:
    return KpiReport(
        start=cohort.start, end=cohort.end, as_of=cohort.today, coordinator=cohort.coordinator,
        episodes=_episodes(session, cohort),
        kpis=[_kpi(spec, tally, current) for spec in SPECS], timings=_timings(tally),
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
    return _report(session, cohort, _tallies(session, cohort).get(None, _Tally()), current)


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
    return _monthly(_tallies(session, cohort), current)


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
    tallies = _tallies(session, cohort)
    whole = dataclasses.replace(cohort, by_month=False)
    return (_report(session, whole, _merged(tallies.values()), current),
            _monthly(tallies, current))
