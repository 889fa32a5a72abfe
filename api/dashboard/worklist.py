"""The home page: open episodes, most overdue first, with counts, filters and pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.web import DashboardDep, DbDep, ViewerDep, audit_page, render
from pathway.clock import local_day
from pathway.store.models import Episode, Reminder
from pathway.store.worklist import (
    Cursor,
    EpisodeFilter,
    list_coordinators,
    list_episodes,
    open_reminders_of,
)
from pathway.vocabulary import CareState, Priority, ReminderKind

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
    mine: bool = False
    overdue: bool = False
    mrn: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them."""
        raw = {"state": self.state, "kind": self.kind, "priority": self.priority,
               "coordinator": self.coordinator, "mrn": self.mrn,
               "mine": "1" if self.mine else "", "overdue": "1" if self.overdue else ""}
        return {k: v for k, v in raw.items() if v}


@dataclass(frozen=True)
class WorklistRow:
    """One episode as the worklist shows it."""

    episode: Episode
    day_number: int
    overdue_days: int | None  # None: nothing open; 0: overdue from today; < 0: days to go
    reminders: list[Reminder]


def _choice(value: str, allowed: set[str]) -> str:
    return value if value in allowed else ""


def _filter(q: WorklistQuery, viewer_name: str, now: dt.datetime) -> EpisodeFilter:
    coordinator = viewer_name if q.mine else (q.coordinator or None)
    return EpisodeFilter(
        state=q.state or None, coordinator=coordinator, overdue_at=now if q.overdue else None,
        reminder_kind=q.kind or None, reminder_priority=q.priority or None,
        mrn_prefix=q.mrn or None, open_only=not q.state,
    )


def _row(episode: Episode, reminders: list[Reminder], today: dt.date, zone: ZoneInfo
         ) -> WorklistRow:
    overdue = None
    if episode.next_overdue_at is not None:
        overdue = (today - local_day(episode.next_overdue_at, zone)).days
    return WorklistRow(episode, (today - episode.identified_on).days, overdue, reminders)


def _query(state: str, kind: str, priority: str, coordinator: str, mine: str, overdue: str,
           mrn: str) -> WorklistQuery:
    """The filters as given, each dropped if it is not one of its known values."""
    return WorklistQuery(
        state=_choice(state, {s.value for s in CareState}),
        kind=_choice(kind, {k.value for k in ReminderKind}),
        priority=_choice(priority, {p.value for p in Priority}),
        coordinator=coordinator.strip()[:120], mine=mine == "1", overdue=overdue == "1",
        mrn=mrn.strip()[:MAX_SEARCH],
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
    mine: str = "", overdue: str = "", mrn: str = "", after: str = "", page: int = 1,
) -> Response:
    """Open episodes, most overdue first."""
    q = _query(state, kind, priority, coordinator, mine, overdue, mrn)
    cursor = _cursor(after)
    now = board.now()
    zone = board.runtime.settings.zone
    today = local_day(now, zone)
    episodes, nxt = list_episodes(db, where=_filter(q, viewer.username, now), limit=PAGE_SIZE,
                                  after=cursor)
    reminders = open_reminders_of(db, [e.id for e in episodes])
    rows = [_row(e, reminders.get(e.id, []), today, zone) for e in episodes]
    audit_page(request, board, viewer, "worklist", detail={
        "filter": q.params(), "episodes": [e.id for e in episodes]})
    page = max(1, page) if cursor else 1
    counts = board.counts.get(db, now)
    return render(request, board, "worklist.html", {
        "q": q,
        "rows": rows,
        "page": page,
        **_page_links(q, cursor, nxt, page),
        "counts": counts,
        "counts_as_of": counts.taken_at.astimezone(zone).strftime("%H:%M:%S"),
        "states": [s.value for s in CareState],
        "kinds": [k.value for k in ReminderKind],
        "priorities": [p.value for p in Priority],
        "coordinators": list_coordinators(db),
    }, viewer=viewer)
