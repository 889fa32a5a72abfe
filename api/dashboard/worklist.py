"""The home page: open episodes, most pressing first (a stat reminder, then urgent, then
routine, then the most overdue milestone; snoozed reminders wait), or sorted by a column;
with a total, counts, search by name or MRN, filters, pages and the user's saved views.
(The CSV export of a view and saving views are `api.dashboard.worklist_views`.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.dashboard.people import people_context
from api.dashboard.web import Dashboard, DashboardDep, DbDep, ViewerDep, audit_page, render
from pathway.clock import local_day
from pathway.store.models import Episode, Reminder
from pathway.store.saved_views import views_of
from pathway.store.worklist import (
    SORTS,
    Cursor,
    EpisodeFilter,
    count_episodes,
    list_episodes,
    list_episodes_sorted,
    open_reminders_of,
    resolve_search,
)
from pathway.vocabulary import CareState, Priority, ReminderKind, ReminderStatus

router = APIRouter()
PAGE_SIZE = 25
MAX_SEARCH = 64
#: Past this many rows a sorted view's pages would read too far; narrow the filters instead.
MAX_OFFSET = 10_000
#: A filtered view's total is counted up to this ("1,000+" beyond): exact where it helps.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class WorklistQuery:
    """The worklist's filters and order as they arrive in the query string."""

    state: str = ""
    kind: str = ""
    priority: str = ""
    coordinator: str = ""
    assigned: str = ""
    mine: bool = False
    overdue: bool = False
    search: str = ""
    sort: str = ""  # "": most pressing first; else a column of `SORTS`
    descending: bool = False

    def params(self) -> dict[str, str]:
        """The non-empty filters and order, for links that keep them."""
        raw = {"state": self.state, "kind": self.kind, "priority": self.priority,
               "coordinator": self.coordinator, "assigned": self.assigned, "q": self.search,
               "mine": "1" if self.mine else "", "overdue": "1" if self.overdue else "",
               "sort": self.sort, "desc": "1" if self.sort and self.descending else ""}
        return {k: v for k, v in raw.items() if v}

    def filtered(self) -> bool:
        """Whether any filter (not just an order) is set."""
        return bool({k for k in self.params() if k not in ("sort", "desc")})

    def sorted_by(self, column: str) -> str:
        """The link that sorts by `column` (again: the other way), keeping the filters."""
        flip = self.sort == column and not self.descending
        return "/?" + urlencode(replace(self, sort=column, descending=flip).params())


@dataclass(frozen=True)
class WorklistRow:
    """One episode as the worklist shows it."""

    episode: Episode
    day_number: int
    overdue_days: int | None  # None: nothing open; 0: overdue from today; < 0: days to go
    overdue_on: dt.date | None
    reminders: list[Reminder]

    @property
    def pressing(self) -> Reminder | None:
        """The stat or urgent reminder that puts this row first, if any (not snoozed)."""
        for r in self.reminders:
            if r.status != ReminderStatus.SNOOZED.value and r.priority in _PRESSING:
                return r
        return None

    @property
    def waiting(self) -> list[Reminder]:
        """The reminders awaiting action (not snoozed), most pressing first."""
        return [r for r in self.reminders if r.status != ReminderStatus.SNOOZED.value]


_PRESSING = (Priority.STAT.value, Priority.URGENT.value)


def _choice(value: str, allowed: set[str] | dict[str, Any]) -> str:
    return value if value in allowed else ""


def worklist_query(
    state: str = "", kind: str = "", priority: str = "", coordinator: str = "",
    assigned: str = "", mine: str = "", overdue: str = "", q: str = "", mrn: str = "",
    sort: str = "", desc: str = "",
) -> WorklistQuery:
    """The filters as given, each dropped if it is not one of its known values (`mrn` is the
    older name of the search, `q`)."""
    return WorklistQuery(
        state=_choice(state, {s.value for s in CareState}),
        kind=_choice(kind, {k.value for k in ReminderKind}),
        priority=_choice(priority, {p.value for p in Priority}),
        coordinator=coordinator.strip()[:120], assigned=assigned.strip()[:120],
        mine=mine == "1", overdue=overdue == "1", search=(q or mrn).strip()[:MAX_SEARCH],
        sort=_choice(sort, SORTS), descending=desc == "1",
    )


QueryDep = Annotated[WorklistQuery, Depends(worklist_query)]


def episode_filter(q: WorklistQuery, viewer_name: str, now: dt.datetime) -> EpisodeFilter:
    """What the store filters by for this view."""
    coordinator = viewer_name if q.mine else (q.coordinator or None)
    return EpisodeFilter(
        state=q.state or None, coordinator=coordinator, overdue_at=now if q.overdue else None,
        reminder_kind=q.kind or None, reminder_priority=q.priority or None,
        search=q.search or None, assigned_to=q.assigned or None, open_only=not q.state,
    )


def worklist_rows(db: Session, board: Dashboard, episodes: list[Episode]) -> list[WorklistRow]:
    """The rows of some episodes, with their unresolved reminders, as of today."""
    zone: ZoneInfo = board.runtime.settings.zone
    today = board.today()
    reminders = open_reminders_of(db, [e.id for e in episodes])
    rows = []
    for e in episodes:
        overdue = overdue_on = None
        if e.next_overdue_at is not None:
            overdue_on = local_day(e.next_overdue_at, zone)
            overdue = (today - overdue_on).days
        rows.append(WorklistRow(e, (today - e.identified_on).days, overdue, overdue_on,
                                reminders.get(e.id, [])))
    return rows


def _cursor(after: str) -> Cursor | None:
    try:
        return Cursor.decode(after) if after else None
    except ValueError:
        return None  # a mangled link: start again at the first page


def _pressing_page(db: Session, q: WorklistQuery, where: EpisodeFilter, after: str,
                   page: int) -> tuple[list[Episode], dict[str, Any]]:
    """A page in the default order (keyset: each page continues from the last row)."""
    cursor = _cursor(after)
    episodes, nxt = list_episodes(db, where=where, limit=PAGE_SIZE, after=cursor,
                                  most_pressing_first=True)
    page = max(1, page) if cursor else 1
    base = q.params()
    return episodes, {
        "page": page,
        "next_url": "/?" + urlencode({**base, "after": nxt.encode(), "page": page + 1})
        if nxt else None,
        "first_url": "/?" + urlencode(base) if cursor else None,
    }


def _sorted_page(db: Session, q: WorklistQuery, where: EpisodeFilter, page: int
                 ) -> tuple[list[Episode], dict[str, Any]]:
    """A page sorted by a column (pages by number, up to `MAX_OFFSET` rows in)."""
    page = min(max(1, page), MAX_OFFSET // PAGE_SIZE)
    episodes, more = list_episodes_sorted(db, where=where, sort=q.sort,
                                          descending=q.descending, limit=PAGE_SIZE,
                                          offset=(page - 1) * PAGE_SIZE)
    base = q.params()
    more = more and page < MAX_OFFSET // PAGE_SIZE
    return episodes, {
        "page": page,
        "next_url": "/?" + urlencode({**base, "page": page + 1}) if more else None,
        "first_url": "/?" + urlencode(base) if page > 1 else None,
    }


def _total(db: Session, q: WorklistQuery, where: EpisodeFilter, states: dict[str, int]
           ) -> dict[str, Any]:
    """The view's total: every open episode from the kept counts, a filtered view counted up
    to `COUNT_CAP` (`total_more` past it)."""
    if not q.filtered():
        return {"total": sum(n for s, n in states.items() if s != CareState.CLOSED.value),
                "total_more": False}
    found = count_episodes(db, where=where, cap=COUNT_CAP)
    return {"total": min(found, COUNT_CAP), "total_more": found > COUNT_CAP}


@router.get("/")
def worklist(request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
             query: QueryDep, after: str = "", page: int = 1) -> Response:
    """Open episodes, most pressing first (or sorted by a column)."""
    now = board.now()
    where = resolve_search(db, episode_filter(query, viewer.username, now))
    episodes, pages = (_sorted_page(db, query, where, page) if query.sort
                       else _pressing_page(db, query, where, after, page))
    audit_page(request, board, viewer, "worklist", detail={
        "filter": query.params(), "episodes": [e.id for e in episodes]})
    counts = board.counts.get(db, now)
    return render(request, board, "worklist.html", {
        "q": query,
        "rows": worklist_rows(db, board, episodes),
        **_total(db, query, where, counts.states),
        **pages,
        "page_size": PAGE_SIZE,
        "counts": counts,
        "counts_as_of": counts.taken_at.astimezone(board.runtime.settings.zone)
        .strftime("%H:%M:%S"),
        "states": [s.value for s in CareState],
        "kinds": [k.value for k in ReminderKind],
        "priorities": [p.value for p in Priority],
        **people_context(db),
        "views": views_of(db, viewer.username),
        "this_query": urlencode(query.params()),
        "default_order_url": "/?" + urlencode(replace(query, sort="", descending=False)
                                              .params()),
    }, viewer=viewer)
