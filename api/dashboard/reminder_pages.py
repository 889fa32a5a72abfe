"""Reminders across episodes (open, snoozed, acknowledged, escalated), the actions on one
reminder (acknowledge, snooze, assign) and the dead-letter deliveries with retry.

Every action calls the use cases of `pathway.reminder_actions` and `pathway.deliveries` (the
integration API's), with the logged-in user as actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.dashboard.event_forms import parse_date
from api.dashboard.people import people_context
from api.dashboard.web import (
    AssignerDep,
    DashboardDep,
    DbDep,
    FormDep,
    ReminderActorDep,
    RetrierDep,
    ViewerDep,
    audit_page,
    flash,
    label,
    redirect,
    render,
    safe_next,
)
from pathway.deliveries import list_deliveries, retry_delivery
from pathway.errors import PathwayError
from pathway.outbox import DEAD
from pathway.reminder_actions import (
    ReminderCursor,
    ReminderFilter,
    acknowledge,
    assign,
    list_reminders,
    snooze,
    unassign,
)
from pathway.store.db import transaction
from pathway.store.models import Reminder
from pathway.store.worklist import episodes_by_id
from pathway.vocabulary import Priority, ReminderKind

router = APIRouter()
PAGE_SIZE = 20
#: The lists the page offers; "escalated" is any unresolved reminder that has escalated.
VIEWS = ("open", "snoozed", "acknowledged", "escalated")


@dataclass(frozen=True)
class ReminderQuery:
    """The reminders page's filters from the query string."""

    view: str = "open"
    kind: str = ""
    priority: str = ""
    mine: bool = False
    search: str = ""

    def params(self) -> dict[str, str]:
        raw = {"view": self.view, "kind": self.kind, "priority": self.priority,
               "mine": "1" if self.mine else "", "q": self.search}
        return {k: v for k, v in raw.items() if v}

    def where(self, username: str) -> ReminderFilter:
        status = None if self.view == "escalated" else self.view
        return ReminderFilter(
            status=status, unresolved=self.view == "escalated",
            escalated=True if self.view == "escalated" else None,
            kind=self.kind or None, priority=self.priority or None,
            assigned_to=username if self.mine else None, search=self.search or None,
        )


@router.get("/reminders")
def reminders_page(
    request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
    view: str = "open", kind: str = "", priority: str = "", mine: str = "", after: str = "",
    search: Annotated[str, Query(alias="q")] = "",
) -> Response:
    """Reminders by status, most pressing first, and the dead letters."""
    q = ReminderQuery(
        view=view if view in VIEWS else "open",
        kind=kind if kind in {k.value for k in ReminderKind} else "",
        priority=priority if priority in {p.value for p in Priority} else "",
        mine=mine == "1", search=search.strip()[:64],
    )
    try:
        cursor = ReminderCursor.decode(after) if after else None
    except ValueError:
        cursor = None
    reminders, nxt = list_reminders(db, where=q.where(viewer.username), limit=PAGE_SIZE,
                                    after=cursor)
    episodes = episodes_by_id(db, {r.episode_id for r in reminders})
    base = q.params()
    audit_page(request, board, viewer, "reminder_list", detail={
        "filter": base, "episodes": sorted(episodes)})
    return render(request, board, "reminders.html", {
        "q": q,
        "views": VIEWS,
        "reminders": reminders,
        "episodes": episodes,
        "next_url": "/reminders?" + urlencode({**base, "after": nxt.encode()}) if nxt else None,
        "first_url": "/reminders?" + urlencode(base) if cursor else None,
        "kinds": [k.value for k in ReminderKind],
        "priorities": [p.value for p in Priority],
        "dead_letters": list_deliveries(db, status=DEAD, limit=100),
        **people_context(db),
        "this_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "snooze_default": board.today() + dt.timedelta(days=7),
        "snooze_min": board.today() + dt.timedelta(days=1),
    }, viewer=viewer)


def _back(form: FormDep, anchor: str) -> str:
    """Where to return after an action: the page it was taken from, at `anchor`."""
    return safe_next(str(form.get("next", "")), "/reminders").split("#")[0] + f"#{anchor}"


def _act(request: Request, board: DashboardDep, form: FormDep, done: str,
         action: str, run: Callable[[Session], Reminder], reminder_id: int) -> Response:
    """Run a reminder's action; the confirmation (or the refusal) is shown at the reminder,
    on the page the action was taken from (`dashboard.js` brings it beside the anchor)."""
    back = _back(form, f"reminder-{reminder_id}")
    try:
        with transaction(board.runtime.sessions) as session:
            kind = run(session).kind
    except PathwayError as exc:
        flash(request, f"Could not {action}: {exc}", "error")
        return redirect(back)
    flash(request, f"{label(kind)}: {done}.")
    return redirect(back)


@router.post("/reminders/{reminder_id}/acknowledge")
def post_acknowledge(
    request: Request, reminder_id: int, board: DashboardDep, viewer: ReminderActorDep,
    form: FormDep
) -> Response:
    """Acknowledge a reminder with an optional note."""
    note = str(form.get("note", ""))
    return _act(request, board, form, "acknowledged", "acknowledge",
                lambda s: acknowledge(s, reminder_id=reminder_id, actor=viewer.actor,
                                      now=board.now(), note=note), reminder_id)


@router.post("/reminders/{reminder_id}/snooze")
def post_snooze(
    request: Request, reminder_id: int, board: DashboardDep, viewer: ReminderActorDep,
    form: FormDep
) -> Response:
    """Snooze a reminder until a date, with a reason."""
    def run(session: Session) -> Reminder:
        until = parse_date("until", form.get("until"))
        assert until is not None  # required=True raises instead
        return snooze(session, reminder_id=reminder_id, until=until,
                      reason=str(form.get("reason", "")), actor=viewer.actor, now=board.now(),
                      zone=board.runtime.settings.zone)
    until = str(form.get("until", ""))
    return _act(request, board, form, f"snoozed until {until}", "snooze", run, reminder_id)


@router.post("/reminders/{reminder_id}/assign")
def post_assign(
    request: Request, reminder_id: int, board: DashboardDep, viewer: AssignerDep, form: FormDep
) -> Response:
    """Assign a reminder to a person (an active user who may act on reminders)."""
    assignee = str(form.get("assignee", "")).strip()
    who = "you" if assignee == viewer.username else assignee
    return _act(request, board, form, f"assigned to {who}", "assign",
                lambda s: assign(s, reminder_id=reminder_id, assignee=assignee,
                                 actor=viewer.actor, now=board.now()), reminder_id)


@router.post("/reminders/{reminder_id}/unassign")
def post_unassign(
    request: Request, reminder_id: int, board: DashboardDep, viewer: AssignerDep, form: FormDep
) -> Response:
    """Take a reminder's assignment away (nobody in particular has it)."""
    return _act(request, board, form, "unassigned", "unassign",
                lambda s: unassign(s, reminder_id=reminder_id, actor=viewer.actor,
                                   now=board.now()), reminder_id)


@router.post("/deliveries/{delivery_id}/retry")
def post_retry(
    request: Request, delivery_id: int, board: DashboardDep, viewer: RetrierDep, form: FormDep
) -> Response:
    """Send a dead letter again."""
    back = _back(form, "dead-letters")
    try:
        with transaction(board.runtime.sessions) as session:
            retry_delivery(session, delivery_id=delivery_id, actor=viewer.actor,
                           now=board.now())
    except PathwayError as exc:
        flash(request, f"Could not retry: {exc}", "error")
        return redirect(back)
    flash(request, f"Delivery {delivery_id} queued again.")
    return redirect(back)
