"""Read-side queries: episodes for worklists and integrations, with keyset pagination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from pathway.store.models import Episode, Patient, Reminder
from pathway.store.statements import OPEN_STATUSES as UNRESOLVED
from pathway.vocabulary import CareState, ReminderStatus

_Query = TypeVar("_Query", bound=Select[Any])


@dataclass(frozen=True)
class EpisodeFilter:
    """What a caller may filter episodes by."""

    state: str | None = None
    overdue_at: dt.datetime | None = None  # only episodes with a milestone overdue by then
    coordinator: str | None = None
    mrn: str | None = None
    due_before: dt.datetime | None = None
    # Worklist filters (the dashboard): not closed, an open reminder of a kind or priority,
    # and MRN search by prefix (case-insensitive).
    open_only: bool = False
    reminder_kind: str | None = None
    reminder_priority: str | None = None
    mrn_prefix: str | None = None
    # Name or MRN containing the text (case-insensitive), and an unresolved reminder assigned
    # to a user.
    search: str | None = None
    assigned_to: str | None = None
    # The search resolved to its patients once per request (`resolve_search`).
    patient_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Cursor:
    """Position after the last row of a page: in "most overdue first" order, or, with an
    `attention` (the worklist's "most pressing first"), within that attention level."""

    no_overdue: bool
    overdue_at: dt.datetime | None
    episode_id: int
    attention: int | None = None

    def encode(self) -> str:
        """An opaque string for the next page."""
        at = self.overdue_at.isoformat() if self.overdue_at else ""
        text = f"{int(self.no_overdue)}|{at}|{self.episode_id}"
        return text if self.attention is None else f"{self.attention}|{text}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor; raises ValueError when malformed."""
        parts = text.split("|")
        attention = int(parts.pop(0)) if len(parts) == 4 else None
        if attention is not None and not 0 <= attention <= NO_ATTENTION:
            raise ValueError("cursor attention out of range")
        flag, at, ident = parts
        overdue = dt.datetime.fromisoformat(at) if at else None
        if overdue is not None and overdue.tzinfo is None:
            raise ValueError("cursor time lacks a zone")
        return cls(flag == "1", overdue, int(ident), attention)


#: `episodes.attention` when no unresolved, un-snoozed reminder drives the order.
NO_ATTENTION = 3
ATTENTION_OF_PRIORITY = {"stat": 0, "urgent": 1, "routine": 2}


def _filtered(query: _Query, f: EpisodeFilter) -> _Query:
    if f.state:
        query = query.where(Episode.state == f.state)
    if f.coordinator:
        query = query.where(Episode.coordinator == f.coordinator)
    if f.mrn:
        query = query.join(Patient, Patient.id == Episode.patient_id).where(Patient.mrn == f.mrn)
    if f.overdue_at is not None:
        query = query.where(Episode.next_overdue_at <= f.overdue_at)
    if f.due_before is not None:
        query = query.where(Episode.next_overdue_at < f.due_before)
    if f.open_only:
        query = query.where(Episode.state != CareState.CLOSED.value)
    if f.mrn_prefix:
        query = query.where(Episode.patient_id.in_(
            select(Patient.id).where(Patient.mrn.istartswith(f.mrn_prefix, autoescape=True))))
    if f.patient_ids is not None:
        query = query.where(Episode.patient_id.in_(f.patient_ids))
    elif f.search:
        query = query.where(Episode.patient_id.in_(select(Patient.id).where(or_(
            Patient.mrn.icontains(f.search, autoescape=True),
            Patient.name.icontains(f.search, autoescape=True)))))
    if f.reminder_kind or f.reminder_priority:
        query = query.where(_has_open_reminder(f.reminder_kind, f.reminder_priority))
    if f.assigned_to:  # a set read once through ix_reminders_assigned_to
        query = query.where(Episode.id.in_(select(Reminder.episode_id).where(
            Reminder.assigned_to == f.assigned_to, Reminder.status.in_(UNRESOLVED))))
    return query


#: A search matching more patients than this is left as a subquery.
SEARCH_IDS = 2_000


def resolve_search(session: Session, f: EpisodeFilter) -> EpisodeFilter:
    """The filter with its search read once into the matching patients' ids (a contains
    search scans every patient: once per request, not once per read of a page)."""
    if not f.search or f.patient_ids is not None:
        return f
    ids = tuple(session.scalars(select(Patient.id).where(or_(
        Patient.mrn.icontains(f.search, autoescape=True),
        Patient.name.icontains(f.search, autoescape=True))).limit(SEARCH_IDS + 1)))
    return f if len(ids) > SEARCH_IDS else replace(f, patient_ids=ids)


def count_episodes(session: Session, *, where: EpisodeFilter, cap: int | None = None) -> int:
    """How many episodes match (the worklist's total), counting at most `cap` + 1: a filter
    that matches most of 100,000 episodes is not walked to its end for a number."""
    matching = _filtered(select(Episode.id), where)
    if cap is not None:
        matching = matching.limit(cap + 1)
    query = select(func.count()).select_from(matching.subquery())
    return int(session.scalar(query) or 0)


def _has_open_reminder(kind: str | None, priority: str | None) -> ColumnElement[bool]:
    """An open reminder of a kind or priority: IN a set read once through the reminders'
    (status, kind) or (status, priority) index, not a probe per episode walked (which, for a
    filter most episodes fail, walked all 100,000)."""
    cond = [Reminder.status == ReminderStatus.OPEN.value]
    if kind:
        cond.append(Reminder.kind == kind)
    if priority:
        cond.append(Reminder.priority == priority)
    return Episode.id.in_(select(Reminder.episode_id).where(*cond))


def _page(session: Session, query: Select[Episode], limit: int) -> list[Episode]:
    return list(session.scalars(query.limit(limit)))


def list_episodes(
    session: Session, *, where: EpisodeFilter, limit: int = 50, after: Cursor | None = None,
    most_pressing_first: bool = False,
) -> tuple[list[Episode], Cursor | None]:
    """A page of episodes, most overdue first (or, `most_pressing_first`, by the priority of
    their most pressing reminder, then most overdue); returns the page and the next cursor.

    Index-ordered reads rather than one sorted one: for each attention level in turn (one
    level, all episodes, unless `most_pressing_first`), the episodes with an overdue time in
    (next_overdue_at, id) order, then those without one in id order. Each walks an index from
    the cursor and stops at the page's end, so a page costs the same at 100,000 episodes as at
    1,000 (one query sorting on "has an overdue time" would sort every matching row first)."""
    base = _filtered(select(Episode), where)
    if not most_pressing_first:
        return _pages_of_level(session, base, None, limit, after)
    start = after.attention if after is not None and after.attention is not None else 0
    rows: list[tuple[Episode, int]] = []  # each with the level it was found at (the rows'
    # own `attention` may be stale in a long session: the database keeps it)
    for level in range(start, NO_ATTENTION + 1):  # one row more than the page: is there more?
        level_after = after if after is not None and level == after.attention else None
        found, _more = _pages_of_level(session, base.where(Episode.attention == level), level,
                                       limit + 1 - len(rows), level_after)
        rows += [(e, level) for e in found]
        if len(rows) > limit:
            last, last_level = rows[limit - 1]
            return [e for e, _level in rows[:limit]], _cursor_after(last, last_level)
    return [e for e, _level in rows], None


def _cursor_after(last: Episode, level: int | None) -> Cursor:
    return Cursor(last.next_overdue_at is None, last.next_overdue_at, last.id, level)


def _pages_of_level(session: Session, base: Select[Episode], level: int | None, limit: int,
                    after: Cursor | None) -> tuple[list[Episode], Cursor | None]:
    """Up to `limit` episodes of one level after `after`, most overdue first, and the cursor
    after them if more of this level follow."""
    rows: list[Episode] = []
    if limit <= 0:
        return rows, None
    if after is None or not after.no_overdue:
        dated = base.where(Episode.next_overdue_at.is_not(None))
        if after is not None:
            # The cursor's time bound with the column's own type (on SQLite, integer
            # microseconds): a tuple's values are not typed from the other side.
            dated = dated.where(tuple_(Episode.next_overdue_at, Episode.id) > tuple_(
                literal(after.overdue_at, Episode.next_overdue_at.type), after.episode_id))
        rows = _page(session, dated.order_by(Episode.next_overdue_at, Episode.id), limit + 1)
    if len(rows) <= limit:
        undated = base.where(Episode.next_overdue_at.is_(None))
        if after is not None and after.no_overdue:
            undated = undated.where(Episode.id > after.episode_id)
        rows += _page(session, undated.order_by(Episode.id), limit + 1 - len(rows))
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], _cursor_after(rows[limit - 1], level)


def count_by_state(session: Session, *, coordinator: str | None = None) -> dict[str, int]:
    """How many episodes are in each state."""
    query = select(Episode.state, func.count()).group_by(Episode.state)
    if coordinator:
        query = query.where(Episode.coordinator == coordinator)
    return {state: int(n) for state, n in session.execute(query)}


def count_open_reminders_by_kind(
    session: Session, *, coordinator: str | None = None
) -> dict[str, int]:
    """How many reminders await action (status open), by kind."""
    query = (select(Reminder.kind, func.count())
             .where(Reminder.status == ReminderStatus.OPEN.value).group_by(Reminder.kind))
    if coordinator:
        query = query.join(Episode, Episode.id == Reminder.episode_id).where(
            Episode.coordinator == coordinator)
    return {kind: int(n) for kind, n in session.execute(query)}


def open_reminders_of(session: Session, episode_ids: list[int]) -> dict[int, list[Reminder]]:
    """The unresolved reminders (open, acknowledged, snoozed) of some episodes (a worklist
    page), most pressing first: by priority, then due date."""
    if not episode_ids:
        return {}
    rank = case(ATTENTION_OF_PRIORITY, value=Reminder.priority, else_=NO_ATTENTION)
    query = (select(Reminder)
             .where(Reminder.episode_id.in_(episode_ids), Reminder.status.in_(UNRESOLVED))
             .order_by(rank, Reminder.due_on, Reminder.id))
    found: dict[int, list[Reminder]] = {}
    for reminder in session.scalars(query):
        found.setdefault(reminder.episode_id, []).append(reminder)
    return found


def episodes_by_id(session: Session, ids: Collection[int]) -> dict[int, Episode]:
    """Some episodes by id (with their patients), for a page that lists other things."""
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Episode).where(Episode.id.in_(list(ids))))}


def list_coordinators(session: Session) -> list[str]:
    """The coordinators named on episodes, for filters."""
    query = (select(Episode.coordinator).where(Episode.coordinator.is_not(None))
             .distinct().order_by(Episode.coordinator))
    return [name for name in session.scalars(query) if name]


#: The worklist's other orders (the default is most pressing first, `list_episodes`): each
#: column, with the episode id to break ties; each walks an index (patients' name, day 0,
#: state, coordinator, next overdue time) to the page's end.
SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Patient.name, Patient.mrn),
    "mrn": (Patient.mrn,),
    "day": (Episode.identified_on,),
    "state": (Episode.state,),
    "coordinator": (Episode.coordinator,),
    "due": (Episode.next_overdue_at,),
}


def list_episodes_sorted(
    session: Session, *, where: EpisodeFilter, sort: str, descending: bool = False,
    limit: int = 50, offset: int = 0,
) -> tuple[list[Episode], bool]:
    """A page of episodes in the order of one column (`SORTS`), `offset` rows in; returns
    the page and whether more follow. (Empty values sort as each database puts NULL: a
    NULLS LAST would keep the index from serving the order.)"""
    columns = SORTS[sort]
    query = _filtered(select(Episode), where)
    if any(c.table is Patient.__table__ for c in columns):
        query = query.join(Patient, Patient.id == Episode.patient_id)
    order: list[Any] = [c.desc() if descending else c for c in columns]
    order.append(Episode.id.desc() if descending else Episode.id)
    rows = list(session.scalars(query.order_by(*order).offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
