"""What a coordinator does with a worklist view besides reading it: download it as CSV (every
row of the view, audited as a read of each patient in it) and save it by name, per user."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.web import (
    DashboardDep,
    DbDep,
    FormDep,
    ViewerDep,
    audit_reads,
    flash,
    redirect,
)
from api.dashboard.worklist import (
    QueryDep,
    WorklistRow,
    episode_filter,
    worklist_query,
    worklist_rows,
)
from pathway.store.db import transaction
from pathway.store.saved_views import delete_view, save_view, views_of
from pathway.store.worklist import (
    count_episodes,
    list_episodes,
    list_episodes_sorted,
    resolve_search,
)

router = APIRouter()
#: An export larger than this is refused: narrow the filters (a register export belongs to
#: the audit export, not the worklist).
MAX_EXPORT = 10_000
EXPORT_PAGE = 500
MAX_VIEW_NAME = 60
MAX_VIEWS = 30

COLUMNS = ("mrn", "name", "levels", "state", "day_0", "day", "next_milestone", "overdue_on",
           "needs", "needs_priority", "reminders_waiting", "reminders_snoozed", "coordinator")


def _csv_row(row: WorklistRow) -> list[str]:
    e, first = row.episode, (row.waiting[0] if row.waiting else None)
    return [e.patient.mrn, e.patient.name or "", " ".join(e.levels), e.state,
            e.identified_on.isoformat(), str(row.day_number), e.next_milestone or "",
            row.overdue_on.isoformat() if row.overdue_on else "",
            first.kind if first else "", first.priority if first else "",
            str(len(row.waiting)), str(len(row.reminders) - len(row.waiting)),
            e.coordinator or ""]


@router.get("/worklist.csv")
def export_view(request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
                query: QueryDep) -> Response:
    """Every row of the view (its filters and order) as CSV: codes, ISO dates, no free text;
    refused past `MAX_EXPORT` rows."""
    where = resolve_search(db, episode_filter(query, viewer.username, board.now()))
    total = count_episodes(db, where=where, cap=MAX_EXPORT)
    back = "/?" + urlencode(query.params())
    if total > MAX_EXPORT:
        flash(request, f"More than {MAX_EXPORT:,} episodes match: an export takes at most "
                       f"{MAX_EXPORT:,}. Narrow the filters and download again.", "error")
        return redirect(back)
    episodes = []
    if query.sort:
        while len(episodes) < total:
            page, more = list_episodes_sorted(db, where=where, sort=query.sort,
                                              descending=query.descending, limit=EXPORT_PAGE,
                                              offset=len(episodes))
            episodes += page
            if not more:
                break
    else:
        after = None
        while True:
            page, after = list_episodes(db, where=where, limit=EXPORT_PAGE, after=after,
                                        most_pressing_first=True)
            episodes += page
            if after is None or len(episodes) >= MAX_EXPORT:
                break
    audit_reads(request, board, viewer, "worklist_export",
                [(e.patient_id, e.id) for e in episodes], {"filter": query.params()})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_csv_row(r) for r in worklist_rows(db, board, episodes))
    day = board.today().isoformat()
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="worklist-{day}.csv"',
        "Cache-Control": "no-store"})


def _clean_query(text: str) -> str:
    """A view's query string with only the worklist's own filters, as it parses them."""
    given = dict(parse_qsl(text.lstrip("?"), keep_blank_values=False))
    known = {k: v for k, v in given.items() if k in worklist_query.__annotations__}
    return urlencode(worklist_query(**known).params())


@router.post("/views")
def post_save_view(request: Request, board: DashboardDep, viewer: ViewerDep,
                   form: FormDep) -> Response:
    """Save the current filters and order under a name (the same name replaces it)."""
    name = " ".join(str(form.get("name", "")).split())
    query = _clean_query(str(form.get("query", "")))
    back = "/?" + query
    if not name or len(name) > MAX_VIEW_NAME:
        flash(request, f"Could not save the view: name: give 1 to {MAX_VIEW_NAME} characters.",
              "error")
        return redirect(back)
    with transaction(board.runtime.sessions) as session:
        mine = {v.name for v in views_of(session, viewer.username)}
        if name not in mine and len(mine) >= MAX_VIEWS:
            flash(request, f"Could not save the view: you have {MAX_VIEWS} already; "
                           "delete one first.", "error")
            return redirect(back)
        save_view(session, username=viewer.username, name=name, query=query,
                  now=board.now())
    flash(request, f"View “{name}” saved.")
    return redirect(back)


@router.post("/views/{view_id}/delete")
def post_delete_view(request: Request, view_id: int, board: DashboardDep, viewer: ViewerDep,
                     form: FormDep) -> Response:
    """Delete one of your saved views."""
    with transaction(board.runtime.sessions) as session:
        gone = delete_view(session, username=viewer.username, view_id=view_id)
    flash(request, "View deleted." if gone else "No such view of yours.",
          "ok" if gone else "error")
    return redirect("/")

