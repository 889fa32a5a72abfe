"""The counts the KPIs are made of (`pathway.kpis` says what each KPI is): a report's cohort,
its episodes entered in error, its first milestones grouped by what the rules look at, the
adherence answers of reviews met on time, its unresolved reminders by kind and due day, and the
stored pathway versions.

The database does the grouping, so memory does not grow with the cohort: it picks the first
milestone of each (episode, kind) and groups them by kind, status, pathway version, month of
day 0, days from day 0 to met, whether met by the overdue day, and how a milestone not done
stands against each deadline (`LATE`, `NOT_LATE`, or one of `NEAR`). The rows that need one per
milestone or episode (a closing near a deadline, whose local day decides; adherence answers)
are read as a stream, `STREAM_BATCH` at a time. Rows are the driver's, read by attribute
(`MilestoneGroup`, `AdherenceAnswer`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, SupportsInt, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
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

from pathway.store.models import Day, Episode, EventRecord, Milestone, PathwayVersion, Reminder
from pathway.vocabulary import (
    CloseReason,
    ContactKind,
    Fact,
    MilestoneStatus,
    ReminderStatus,
    TransitionEvent,
)

Ts = TypeVarTuple("Ts")

#: Rows fetched at a time from a streamed result.
STREAM_BATCH = 2000
#: Episodes entered in error listed in the queries up to this many (else a subquery).
LISTED_EXCLUSIONS = 1000

# How a milestone not done stands against one deadline, as the database groups it: the UTC days
# from the deadline to its closing, clamped to NOT_LATE...LATE. A day in the site's zone is
# less than a day away from the UTC one, so only a closing 0 or 1 UTC days after the deadline
# (NEAR) needs its local day, looked at in Python. An open milestone (or one closed at no
# recorded time) is LATE once its deadline has passed, else NOT_LATE.
NOT_LATE, LATE = -1, 2
NEAR = (0, 1)

#: Microseconds in a day: a SQLite instant to its day number.
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class Cohort:
    """Which episodes a report counts (day 0 in [start, end], one coordinator's if named, not
    entered in error) and the days its deadlines are compared with."""

    start: dt.date
    end: dt.date
    coordinator: str | None
    today: dt.date
    follow_up_days: Mapping[int, int]  # liaison-monitoring overdue day by pathway version
    excluded: frozenset[int] = frozenset()  # the episodes entered in error
    by_month: bool = False  # groups split by the month of day 0
    listed_exclusions: int = LISTED_EXCLUSIONS


@dataclass(frozen=True)
class RatedKinds:
    """What the rates look at, from the KPI definitions, as stored values."""

    own_deadline: tuple[str, ...]  # kinds rated against their own overdue day
    first_follow_up: tuple[str, ...]  # kinds rated against liaison monitoring's overdue day
    done_for_every_rate: tuple[str, ...]  # statuses that are done for every rate


class MilestoneGroup(Protocol):
    """First milestones alike in everything the rules look at, and how many (`n`)."""

    kind: str
    status: str
    version: int
    year: SupportsInt | None  # of day 0 (None when not split by month)
    month: SupportsInt | None
    met_days: int | None  # days from day 0 to met
    met_by_overdue: int | None  # 1 if met by the overdue day, 0 if later, None if not met
    late_own: int | None  # against its own deadline: LATE, NOT_LATE or one of NEAR
    late_follow_up: int | None  # against the first follow-up, likewise
    closed_at: dt.datetime | None  # only for a closing NEAR a deadline
    n: int


class AdherenceAnswer(Protocol):
    """One adherence-review contact of an episode whose review was met on time."""

    episode_id: int
    year: SupportsInt | None
    month: SupportsInt | None
    data: dict[str, Any] | None


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _dated(query: Select[*Ts], cohort: Cohort) -> Select[*Ts]:
    """Restrict a query that joins `Episode` to the date range and coordinator."""
    query = query.where(Episode.identified_on >= cohort.start,
                        Episode.identified_on <= cohort.end)
    if cohort.coordinator:
        query = query.where(Episode.coordinator == cohort.coordinator)
    return query


def _of(query: Select[*Ts], cohort: Cohort) -> Select[*Ts]:
    """Restrict a query that joins `Episode` to the cohort's episodes."""
    excluded: Iterable[int] | Select[int] = (
        sorted(cohort.excluded) if len(cohort.excluded) <= cohort.listed_exclusions
        else _entered_in_error(cohort))
    return _dated(query, cohort).where(Episode.id.not_in(excluded))


def _days(later: SQLColumnExpression[Any],
          earlier: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
    """Whole days from one day to another: a difference of day numbers on SQLite
    (`pathway.store.models.Day`), of dates on PostgreSQL; an integer either way (not a day: its
    result must not be read back as one). Each side keeps its own type, so a bound day is
    bound as a day."""
    return type_coerce(later - earlier, Integer)


def _utc_day(instant: SQLColumnExpression[Any], sqlite: bool) -> SQLColumnExpression[Any]:
    """The UTC calendar day of a stored timestamp, as days are stored (SQLite: integer
    microseconds since 1970 to integer days since 1970, `pathway.store.models.SQLiteInstant` and
    `SQLiteDay`; PostgreSQL: naive UTC to date). Timestamps are never before 1970."""
    if sqlite:
        return type_coerce(instant, Integer) // _MICROS_PER_DAY
    return cast(instant, Date)


def _month(cohort: Cohort, sqlite: bool) -> list[ColumnElement[Any]]:
    """Year and month of day 0, when the groups are split by month."""
    if not cohort.by_month:
        return [null().label("year"), null().label("month")]
    if sqlite:  # a day number as a date SQLite's functions read
        day = func.date(type_coerce(Episode.identified_on, Integer) * 86400, "unixepoch")
        return [cast(func.strftime("%Y", day), Integer).label("year"),
                cast(func.strftime("%m", day), Integer).label("month")]
    return [extract("year", Episode.identified_on).label("year"),
            extract("month", Episode.identified_on).label("month")]


def _entered_in_error(cohort: Cohort) -> Select[int]:
    """The episodes in the date range closed as entered in error."""
    return _dated(
        select(EventRecord.episode_id)
        .join(Episode, Episode.id == EventRecord.episode_id)
        # The name written into the SQL, not bound: SQLite uses a partial index
        # (ix_events_closings) only when it can see the query matches its condition.
        .where(EventRecord.name == literal_column(f"'{TransitionEvent.CLOSE.value}'"),
               EventRecord.data["reason"].as_string() == CloseReason.ENTERED_IN_ERROR.value),
        cohort)


def entered_in_error(session: Session, cohort: Cohort) -> frozenset[int]:
    """The episodes with day 0 in the cohort's range closed as entered in error."""
    return frozenset(session.scalars(_entered_in_error(cohort)))


_VERSIONS = select(PathwayVersion.version)


def stored_versions(session: Session) -> list[int]:
    """The number of every stored pathway version."""
    return list(session.scalars(_VERSIONS).all())


def _first_of_its_kind() -> ColumnElement[bool]:
    """The milestone is its episode's first of its kind (kept on the row when it is opened;
    looking for an earlier one per milestone was a third of a report on SQLite)."""
    return Milestone.first_of_kind == true()


def _lateness(passed: SQLColumnExpression[bool], closed_after: SQLColumnExpression[Any],
              done_for_every_rate: Sequence[str]) -> ColumnElement[Any]:
    """How a milestone not done stands against a deadline (see LATE), given whether today is
    past the deadline and the UTC days from the deadline to the closing; None for a milestone
    met, which is done for every rate."""
    return case(
        (and_(Milestone.met_on.is_not(None), Milestone.status.in_(done_for_every_rate)), None),
        (or_(Milestone.status == MilestoneStatus.OPEN.value, Milestone.closed_at.is_(None)),
         case((passed, LATE), else_=NOT_LATE)),
        (closed_after >= LATE, LATE),
        (closed_after <= NOT_LATE, NOT_LATE),
        else_=closed_after,  # one of NEAR
    )


def _fact_columns(cohort: Cohort, rated: RatedKinds, sqlite: bool) -> list[ColumnElement[Any]]:
    """What the rules look at in a first milestone, with little variety so groups are few."""
    today = literal(cohort.today, Day())
    follow_up = case(cohort.follow_up_days, value=Episode.pathway_version)
    closed_day = _utc_day(Milestone.closed_at, sqlite)
    done = rated.done_for_every_rate
    own = _lateness(Milestone.overdue_on < today, _days(closed_day, Milestone.overdue_on), done)
    first_follow_up = _lateness(
        _days(today, Episode.identified_on) > follow_up,
        _days(closed_day, Episode.identified_on) - follow_up, done)
    return [
        Milestone.kind.label("kind"), Milestone.status.label("status"),
        Episode.pathway_version.label("version"), *_month(cohort, sqlite),
        case((Milestone.met_on.is_not(None),
              _days(Milestone.met_on, Episode.identified_on))).label("met_days"),
        case((Milestone.met_on.is_(None), None), (Milestone.met_on <= Milestone.overdue_on, 1),
             else_=0).label("met_by_overdue"),
        case((Milestone.kind.in_(rated.own_deadline), own)).label("late_own"),
        case((Milestone.kind.in_(rated.first_follow_up), first_follow_up))
        .label("late_follow_up"),
        Milestone.closed_at.label("closed_at"),
    ]


def milestone_groups(session: Session, cohort: Cohort,
                     rated: RatedKinds) -> Iterator[MilestoneGroup]:
    """The cohort's first milestones grouped by what the rules look at, with their count; the
    closing time is kept only where it decides (a closing NEAR a deadline)."""
    facts = _of(select(*_fact_columns(cohort, rated, _is_sqlite(session)))
                .join(Episode, Episode.id == Milestone.episode_id)
                .where(_first_of_its_kind()), cohort).subquery("facts")
    near = or_(facts.c.late_own.in_(NEAR), facts.c.late_follow_up.in_(NEAR))
    keyed = select(*(c for c in facts.c if c.name != "closed_at"),
                   case((near, facts.c.closed_at)).label("closed_at")).subquery("keyed")
    query: Select[Any] = select(*keyed.c, func.count().label("n")).group_by(*keyed.c)
    rows: Iterable[Any] = session.execute(query.execution_options(yield_per=STREAM_BATCH))
    yield from rows


def adherence_answers(session: Session, cohort: Cohort, *, kind: str,
                      done: Sequence[str]) -> Iterator[AdherenceAnswer]:
    """Each adherence-review answer on or before the deadline (the review's overdue day) of an
    episode whose first `kind` milestone was `done` by then, by episode then in the order
    recorded (a stream)."""
    query = _of(
        select(Milestone.episode_id, *_month(cohort, _is_sqlite(session)), EventRecord.data)
        .join(Episode, Episode.id == Milestone.episode_id)
        .join(EventRecord, and_(
            EventRecord.episode_id == Milestone.episode_id,
            EventRecord.name == Fact.RECORD_CONTACT.value,
            EventRecord.data["kind"].as_string() == ContactKind.ADHERENCE_REVIEW.value,
            EventRecord.occurred_on <= Milestone.overdue_on))
        .where(Milestone.kind == kind, _first_of_its_kind(), Milestone.status.in_(done),
               Milestone.met_on.is_not(None), Milestone.met_on <= Milestone.overdue_on)
        .order_by(Milestone.episode_id, EventRecord.seq), cohort)
    rows: Iterable[Any] = session.execute(query.execution_options(yield_per=STREAM_BATCH))
    yield from rows


def episodes_with_milestones(session: Session, cohort: Cohort) -> int:
    """Episodes of the cohort with at least one milestone."""
    query = _of(select(func.count()).select_from(Episode).where(
        select(Milestone.id).where(Milestone.episode_id == Episode.id).exists()), cohort)
    return int(session.execute(query).scalar_one())


def unresolved_reminders(session: Session,
                         cohort: Cohort) -> Iterator[tuple[str, dt.date, int]]:
    """(kind, due day, how many) of the cohort's reminders not resolved, counted in the
    database."""
    query = _of(
        select(Reminder.kind, Reminder.due_on, func.count())
        .join(Episode, Episode.id == Reminder.episode_id)
        .where(Reminder.status != ReminderStatus.RESOLVED.value)
        .group_by(Reminder.kind, Reminder.due_on), cohort)
    rows: Iterable[Any] = session.execute(query)
    yield from rows
