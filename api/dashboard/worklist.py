"""The home page: open episodes, most pressing first (a stat reminder, then urgent, then
routine, then the most overdue milestone; snoozed reminders wait), with a total, counts,
search by name or MRN, filters and pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.web import DashboardDep, DbDep, ViewerDep, audit_page, render
from pathway.access import list_users
from pathway.clock import local_day
from pathway.permissions import Action, may
from pathway.store.models import Episode, Reminder
from pathway.store.worklist import (
    Cursor,
    EpisodeFilter,
    count_episodes,
    list_episodes,
    open_reminders_of,
)
from pathway.vocabulary import CareState, Priority, ReminderKind, ReminderStatus

router = APIRouter()
PAGE_SIZE = 25
MAX_SEARCH = 64


@dataclass(frozen=True)
class WorklistQuery:
    """The worklist's filters as they arrive in the query string."""

    state: str = ""
    kind: str = ""
    priority: str = ""
    coordinator: str = ""
    assigned: str = ""
    mine: bool = False
    overdue: bool = False
    search: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them."""
        raw = {"state": self.state, "kind": self.kind, "priority": self.priority,
               "coordinator": self.coordinator, "assigned": self.assigned, "q": self.search,
               "mine": "1" if self.mine else "", "overdue": "1" if self.overdue else ""}
        return {k: v for k, v in raw.items() if v}


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


_PRESSING = (Priority.STAT.value, Priority.URGENT.value)


def _choice(value: str, allowed: set[str]) -> str:
    return value if value in allowed else ""


def _filter(q: WorklistQuery, viewer_name: str, now: dt.datetime) -> EpisodeFilter:
    coordinator = viewer_name if q.mine else (q.coordinator or None)
    return EpisodeFilter(
        state=q.state or None, coordinator=coordinator, overdue_at=now if q.overdue else None,
        reminder_kind=q.kind or None, reminder_priority=q.priority or None,
        search=q.search or None, assigned_to=q.assigned or None, open_only=not q.state,
    )


def _row(episode: Episode, reminders: list[Reminder], today: dt.date, zone: ZoneInfo
         ) -> WorklistRow:
    overdue = overdue_on = None
    if episode.next_overdue_at is not None:
        overdue_on = local_day(episode.next_overdue_at, zone)
        overdue = (today - overdue_on).days
    return WorklistRow(episode, (today - episode.identified_on).days, overdue, overdue_on,
                       reminders)


def _query(state: str, kind: str, priority: str, coordinator: str, assigned: str, mine: str,
           overdue: str, search: str) -> WorklistQuery:
    """The filters as given, each dropped if it is not one of its known values."""
    return WorklistQuery(
        state=_choice(state, {s.value for s in CareState}),
        kind=_choice(kind, {k.value for k in ReminderKind}),
        priority=_choice(priority, {p.value for p in Priority}),
        coordinator=coordinator.strip()[:120], assigned=assigned.strip()[:120],
        mine=mine == "1", overdue=overdue == "1", search=search.strip()[:MAX_SEARCH],
    )


def _cursor(after: str) -> Cursor | None:
    try:
        return Cursor.decode(after) if after else None
    except ValueError:
        return None  # a mangled link: start again at the first page


def _page_links(q: WorklistQuery, cursor: Cursor | None, nxt: Cursor | None, page: int
                ) -> dict[str, str | None]:
    """The next page's link (keeping the filters) and, past the first page, the first's."""
    base = q.params()
    return {
        "next_url": "/?" + urlencode({**base, "after": nxt.encode(), "page": page + 1})
        if nxt else None,
        "first_url": "/?" + urlencode(base) if cursor else None,
    }


@router.get("/")
def worklist(
    request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
    state: str = "", kind: str = "", priority: str = "", coordinator: str = "",
    assigned: str = "", mine: str = "", overdue: str = "", q: str = "", mrn: str = "",
    after: str = "", page: int = 1,
) -> Response:
    """Open episodes, most pressing first. (`mrn` is the older name of the search, `q`.)"""
    query = _query(state, kind, priority, coordinator, assigned, mine, overdue, q or mrn)
    cursor = _cursor(after)
    now = board.now()
    zone = board.runtime.settings.zone
    today = local_day(now, zone)
    where = _filter(query, viewer.username, now)
    episodes, nxt = list_episodes(db, where=where, limit=PAGE_SIZE, after=cursor,
                                  most_pressing_first=True)
    reminders = open_reminders_of(db, [e.id for e in episodes])
    rows = [_row(e, reminders.get(e.id, []), today, zone) for e in episodes]
    audit_page(request, board, viewer, "worklist", detail={
        "filter": query.params(), "episodes": [e.id for e in episodes]})
    page = max(1, page) if cursor else 1
    counts = board.counts.get(db, now)
    users = [u for u in list_users(db) if u.active]
    return render(request, board, "worklist.html", {
        "q": query,
        "rows": rows,
        "total": count_episodes(db, where=where),
        "page": page,
        "page_size": PAGE_SIZE,
        **_page_links(query, cursor, nxt, page),
        "counts": counts,
        "counts_as_of": counts.taken_at.astimezone(zone).strftime("%H:%M:%S"),
        "states": [s.value for s in CareState],
        "kinds": [k.value for k in ReminderKind],
        "priorities": [p.value for p in Priority],
        "staff": [u for u in users if may(u.role, Action.ACT_ON_REMINDER)],
        "people": {u.username: u.display_name or u.username for u in users},
    }, viewer=viewer)
