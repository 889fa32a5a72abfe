"""Acting on several reminders at once from the reminders page: acknowledge, snooze or assign
the ticked ones, after one confirmation that lists them. Each reminder goes through the same
use case as one at a time (`pathway.reminder_actions`), in its own transaction, so each keeps
its own history row, and one that was resolved meanwhile is reported, not fatal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from api.dashboard.event_forms import parse_date
from api.dashboard.web import (
    Dashboard,
    DashboardDep,
    DbDep,
    Forbidden,
    FormDep,
    ReminderActorDep,
    Viewer,
    flash,
    redirect,
    render,
    safe_next,
)
from pathway.errors import InvalidData, PathwayError
from pathway.permissions import Action
from pathway.reminder_actions import acknowledge, assign, get_reminder, snooze
from pathway.store.db import transaction
from pathway.store.models import Reminder
from pathway.store.worklist import episodes_by_id

router = APIRouter()
#: At most one page of the reminders list at a time.
MAX_BULK = 100
ACTIONS = {"acknowledge": "acknowledged", "snooze": "snoozed", "assign": "assigned"}


@dataclass(frozen=True)
class BulkAction:
    """What to do to which reminders, as the form asked (validated)."""

    action: str
    ids: tuple[int, ...]
    until: dt.date | None = None
    reason: str = ""
    assignee: str = ""
    note: str = ""

    def hidden(self) -> list[tuple[str, str]]:
        """The fields that carry it through the confirmation."""
        fields = [("action", self.action), ("until", self.until.isoformat() if self.until
                                            else ""), ("reason", self.reason),
                  ("assignee", self.assignee), ("note", self.note)]
        return fields + [("ids", str(i)) for i in self.ids]


def _ids(form: FormData) -> tuple[int, ...]:
    found: list[int] = []
    for raw in form.getlist("ids"):
        text = str(raw)
        if not text.isdigit() or len(text) > 12:
            raise InvalidData("ids", f"{text[:20]!r} is not a reminder")
        if int(text) not in found:
            found.append(int(text))
    if not found:
        raise InvalidData("ids", "tick at least one reminder")
    if len(found) > MAX_BULK:
        raise InvalidData("ids", f"at most {MAX_BULK} reminders at a time")
    return tuple(found)


def parse_bulk(form: FormData, viewer: Viewer) -> BulkAction:
    """The bulk action in a form, or InvalidData naming the field (Forbidden for an
    assignment by a role that may not assign)."""
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        raise InvalidData("action", "choose acknowledge, snooze or assign")
    if action == "assign" and not viewer.may(Action.ASSIGN_REMINDER):
        raise Forbidden(viewer, Action.ASSIGN_REMINDER)
    bulk = BulkAction(action, _ids(form), reason=str(form.get("reason", "")).strip()[:500],
                      assignee=str(form.get("assignee", "")).strip()[:120],
                      note=str(form.get("note", "")).strip()[:2000])
    if action == "snooze":
        until = parse_date("until", form.get("until"))
        if not bulk.reason:
            raise InvalidData("reason", "is required to snooze")
        return BulkAction(action, bulk.ids, until=until, reason=bulk.reason)
    if action == "assign" and not bulk.assignee:
        raise InvalidData("assignee", "choose a person")
    return bulk


def _run(bulk: BulkAction, viewer: Viewer, board: Dashboard) -> Callable[[Session, int],
                                                                         Reminder]:
    now, zone = board.now(), board.runtime.settings.zone
    if bulk.action == "acknowledge":
        return lambda s, rid: acknowledge(s, reminder_id=rid, actor=viewer.actor, now=now,
                                          note=bulk.note or None)
    if bulk.action == "snooze":
        assert bulk.until is not None
        until = bulk.until
        return lambda s, rid: snooze(s, reminder_id=rid, until=until, reason=bulk.reason,
                                     actor=viewer.actor, now=now, zone=zone)
    return lambda s, rid: assign(s, reminder_id=rid, assignee=bulk.assignee,
                                 actor=viewer.actor, now=now)


def _back(form: FormData) -> str:
    return safe_next(str(form.get("next", "")), "/reminders")


@router.post("/reminders/bulk")
def post_review(request: Request, board: DashboardDep, db: DbDep, viewer: ReminderActorDep,
                form: FormDep) -> Response:
    """The one confirmation: what will be done to which reminders (nothing changes yet)."""
    back = _back(form)
    try:
        bulk = parse_bulk(form, viewer)
        chosen = [get_reminder(db, rid) for rid in bulk.ids]
    except PathwayError as exc:
        flash(request, f"Nothing was changed: {exc}", "error")
        return redirect(back)
    return render(request, board, "reminders_bulk.html", {
        "bulk": bulk, "verb": ACTIONS[bulk.action], "reminders": chosen,
        "episodes": episodes_by_id(db, {r.episode_id for r in chosen}), "back": back,
    }, viewer=viewer)


@router.post("/reminders/bulk/apply")
def post_apply(request: Request, board: DashboardDep, viewer: ReminderActorDep,
               form: FormDep) -> Response:
    """Do it, reminder by reminder; say how many were done and which could not be."""
    back = _back(form)
    try:
        bulk = parse_bulk(form, viewer)
    except PathwayError as exc:
        flash(request, f"Nothing was changed: {exc}", "error")
        return redirect(back)
    run, done, refused = _run(bulk, viewer, board), 0, []
    for rid in bulk.ids:
        try:
            with transaction(board.runtime.sessions) as session:
                run(session, rid)
            done += 1
        except PathwayError as exc:
            refused.append(f"reminder {rid}: {exc}")
    message = f"{done} reminder{'s' if done != 1 else ''} {ACTIONS[bulk.action]}"
    if bulk.action == "assign":
        message += f" to {bulk.assignee}"
    if refused:
        flash(request, f"{message}; {len(refused)} could not be: " + "; ".join(refused[:5]),
              "error")
    else:
        flash(request, f"{message}.")
    return redirect(back)

