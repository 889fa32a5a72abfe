"""One episode: intake summary, timeline, reminders, the events allowed now, and its log.

Events go through `pathway.episodes.apply_event` (the integration API's use case) with the
logged-in user as actor; a refused event is shown on the page with the state it was refused
in and the events that are allowed, and nothing changes.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.dashboard.event_forms import event_form, parse_date, parse_event_data
from api.dashboard.people import people_context
from api.dashboard.timeline import timeline_data, timeline_rows
from api.dashboard.web import (
    Dashboard,
    DashboardDep,
    DbDep,
    EventRecorderDep,
    Forbidden,
    FormDep,
    Viewer,
    ViewerDep,
    audit_page,
    error_page,
    flash,
    label,
    reader,
    redirect,
    render,
)
from pathway.episodes import allowed_now, apply_event, get_episode, history
from pathway.errors import Conflict, InvalidData, NotFound, PathwayError, TransitionRefused
from pathway.event_data import DATA_SCHEMAS
from pathway.milestones import all_milestones
from pathway.permissions import action_for_event, may_record
from pathway.reminder_actions import ReminderFilter, list_reminders
from pathway.store.db import transaction
from pathway.vocabulary import ALL_EVENT_NAMES, Priority, ReminderStatus, TransitionEvent

router = APIRouter()


def episode_context(db: Session, board: Dashboard, episode_id: int, viewer: Viewer
                    ) -> dict[str, Any]:
    """Everything the episode page shows, the forms limited to what `viewer` may record."""
    episode = get_episode(db, episode_id)
    today = board.today()
    milestones = all_milestones(db, episode.id)
    events = history(db, episode.id)
    reminders, _ = list_reminders(db, where=ReminderFilter(episode_id=episode.id), limit=500)
    allowed = allowed_now(episode)
    live = [r for r in reminders if r.status != ReminderStatus.RESOLVED.value]
    return {
        "episode": episode,
        "patient": episode.patient,
        "intake": episode.intake,
        "day_number": (today - episode.identified_on).days,
        "timeline": timeline_data(milestones, events, day0=episode.identified_on, today=today),
        "milestone_rows": timeline_rows(milestones, day0=episode.identified_on, today=today),
        "events": list(reversed(events)),
        "live_reminders": live,
        "pressing": [r for r in live if r.status != ReminderStatus.SNOOZED.value
                     and r.priority in (Priority.STAT.value, Priority.URGENT.value)],
        "past_reminders": [r for r in reminders if r.status == ReminderStatus.RESOLVED.value],
        "forms": [event_form(name) for name in allowed if may_record(viewer.role, name)],
        "not_permitted": [name for name in allowed if not may_record(viewer.role, name)],
        "not_allowed": [e.value for e in TransitionEvent if e.value not in allowed],
        **people_context(db),
        "snooze_default": today + dt.timedelta(days=7),
        "snooze_min": today + dt.timedelta(days=1),
    }


def _page(
    request: Request, board: Dashboard, db: Session, viewer: Viewer, episode_id: int, *,
    status_code: int = 200, event_error: dict[str, Any] | None = None,
) -> Response:
    try:
        context = episode_context(db, board, episode_id, viewer)
    except NotFound:
        return error_page(request, board, status_code=404, title="No such episode",
                          message=f"There is no episode {episode_id}.", viewer=viewer)
    audit_page(request, board, viewer, "episode_page", patient_id=context["patient"].id,
               episode_id=episode_id)
    context["event_error"] = event_error
    return render(request, board, "episode.html", context, viewer=viewer,
                  status_code=status_code)


@router.get("/episodes/{episode_id}")
def episode_page(
    request: Request, episode_id: int, board: DashboardDep, db: DbDep, viewer: ViewerDep
) -> Response:
    """The episode page."""
    return _page(request, board, db, viewer, episode_id)


def _refusal(exc: PathwayError, event: str) -> tuple[int, dict[str, Any]]:
    """How a failed event is shown: HTTP status and what the error box says."""
    if isinstance(exc, TransitionRefused):
        return 409, {"title": f"“{label(event)}” was refused", "event": exc.event,
                     "state": exc.state, "reason": exc.reason, "allowed": exc.allowed,
                     "message": str(exc)}
    if isinstance(exc, InvalidData):
        return 422, {"title": f"“{label(event)}” needs a correction", "field": exc.field,
                     "message": f"{exc.field}: {exc.reason}"}
    if isinstance(exc, Conflict):
        return 409, {"title": "Changed by someone else", "message": str(exc)}
    if isinstance(exc, NotFound):
        return 404, {"title": "Not found", "message": str(exc)}
    return 400, {"title": f"“{label(event)}” was not recorded", "message": str(exc)}


@router.post("/episodes/{episode_id}/events")
def post_event(
    request: Request, episode_id: int, board: DashboardDep, db: DbDep,
    viewer: EventRecorderDep, form: FormDep,
) -> Response:
    """Apply an event or fact from the episode page's forms."""
    event = str(form.get("event", ""))
    try:
        if event not in ALL_EVENT_NAMES or event not in DATA_SCHEMAS:
            raise InvalidData("event", f"unknown event {event!r}")
        if not may_record(viewer.role, event):
            raise Forbidden(viewer, action_for_event(event))
        data = parse_event_data(event, form)
        occurred_on = parse_date("occurred_on", form.get("occurred_on"), required=False)
        with transaction(board.runtime.sessions) as session:
            applied = apply_event(
                session, episode_id=episode_id, event=event, data=data, actor=viewer.actor,
                now=board.now(), zone=board.runtime.settings.zone, occurred_on=occurred_on)
            source, target = applied.source, applied.target
    except PathwayError as exc:
        status, error = _refusal(exc, event)
        with closing(reader(board.runtime)) as fresh:  # a snapshot taken after the refusal
            return _page(request, board, fresh, viewer, episode_id, status_code=status,
                         event_error=error)
    moved = f": {label(source)} → {label(target)}" if source != target else ""
    flash(request, f"{label(event)} recorded{moved}.")
    return redirect(f"/episodes/{episode_id}#events")
