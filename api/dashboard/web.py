"""Plumbing shared by the dashboard's pages: who is logged in, sessions, forms, rendering.

Pages read through a short-lived session; writes go through `transaction` (the edge owns the
transaction) and call the same core use cases as the integration API, with the logged-in user
as the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from api.dashboard import dates, people
from api.dashboard.counts import CountsCache
from api.dashboard.security import CSRF_FIELD, csrf_ok, csrf_token
from api.dashboard.sessions import going_session
from pathway import labels
from pathway.audit import Read
from pathway.audit import record as record_reads
from pathway.clock import local_day
from pathway.permissions import Action, may
from pathway.runtime import Runtime
from pathway.store.db import read_only, transaction
from pathway.throttle import ThrottlePolicy

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
SESSION_USER = "user"
FLASH_KEY = "flash"


class LoginRequired(Exception):
    """No logged-in user: the handler sends the browser to /login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Forbidden(Exception):
    """A logged-in user asked for something their role does not allow."""

    def __init__(self, viewer: Viewer, action: Action) -> None:
        self.viewer = viewer
        self.action = action

    @property
    def message(self) -> str:
        return f"Your role ({self.viewer.role}) cannot {FORBIDDEN_WHAT[self.action]}."


#: How a refused action is named on the "Not allowed" page.
FORBIDDEN_WHAT = {
    Action.READ: "read episodes",
    Action.READ_REMINDERS: "see reminders",
    Action.READ_KPIS: "see the KPIs",
    Action.OPEN_EPISODE: "open episodes",
    Action.RECORD_EVENT: "record fracture-care events or clinical findings",
    Action.RECORD_LIAISON: "record liaison and bone-health work",
    Action.ACT_ON_REMINDER: "acknowledge or snooze reminders",
    Action.ASSIGN_REMINDER: "assign reminders",
    Action.RETRY_DELIVERY: "retry deliveries",
    Action.MANAGE_WEBHOOKS: "manage webhooks",
    Action.MANAGE_ACCESS: "see the administration page",
    Action.USE_DASHBOARD: "use the dashboard",
}


class CsrfRefused(Exception):
    """A form arrived without the session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user, as the pages need them."""

    username: str
    role: str
    display_name: str

    def may(self, action: Action) -> bool:
        """Whether this user's role may do `action` (`pathway.permissions`)."""
        return may(self.role, action)

    @property
    def actor(self) -> str:
        """The actor recorded on every change this user makes."""
        return f"user:{self.username}"


@dataclass
class Dashboard:
    """What the dashboard's routes share: the runtime, the templates, the login throttle's
    limits and the worklist's summary counts."""

    runtime: Runtime
    templates: Jinja2Templates
    throttle_policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    counts: CountsCache = field(init=False)

    def __post_init__(self) -> None:
        self.counts = CountsCache(self.runtime.settings.worklist_counts_seconds)

    def now(self) -> dt.datetime:
        return self.runtime.now()

    def today(self) -> dt.date:
        return local_day(self.runtime.now(), self.runtime.settings.zone)


def make_templates() -> Jinja2Templates:
    """Jinja2 with autoescaping on for every template (free text is never trusted)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = label
    env.filters["trigger"] = trigger
    env.filters["action"] = labels.action_phrase  # a button: "Record reassessment"
    env.filters["in_sentence"] = labels.in_sentence  # mid-sentence: "conservative care"
    env.filters.update(dates.FILTERS)
    env.filters.update(people.FILTERS)
    env.globals["Action"] = Action
    return Jinja2Templates(env=env)


def label(value: object) -> str:
    """A vocabulary name for people, from the one table of `pathway.labels`:
    `conservative_care` -> `Conservative care`, `record_dxa` -> `DXA scan`."""
    if value is None:
        return ""
    return labels.label(str(value))


def trigger(value: str) -> str:
    """A definition's trigger for people (`pathway.labels.trigger`): `record_therapy:calcitonin`
    -> `Calcitonin started`, `record_dxa:not_done` -> `DXA scan not done`."""
    return labels.trigger(value)


def dashboard(request: Request) -> Dashboard:
    """The dashboard's shared state (set by `install`)."""
    state: Dashboard = request.app.state.dashboard
    return state


DashboardDep = Annotated[Dashboard, Depends(dashboard)]


def reader(runtime: Runtime) -> Session:
    """A session that only reads (on SQLite it never holds the write lock); close it after."""
    return read_only(runtime.sessions())


def read_session(board: DashboardDep) -> Iterator[Session]:
    """A session for reading a page; nothing is committed. Writes use their own transaction."""
    session = reader(board.runtime)
    try:
        yield session
    finally:
        session.close()


DbDep = Annotated[Session, Depends(read_session)]


def _next_path(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def current_viewer(request: Request) -> Viewer:
    """The logged-in, still active user: their session and role are read from the database
    with each request (`api.dashboard.sessions`)."""
    going = going_session(request.scope)
    if going is None or going.username is None or going.role is None or not may(
            going.role, Action.USE_DASHBOARD):
        raise LoginRequired(_next_path(request) if request.method == "GET" else "/")
    return Viewer(going.username, going.role, going.display_name or going.username)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def permitted(action: Action) -> Callable[[Viewer], Viewer]:
    """A dependency admitting the logged-in user only if their role may do `action`."""

    def check(viewer: ViewerDep) -> Viewer:
        if not viewer.may(action):
            raise Forbidden(viewer, action)
        return viewer

    return check


AdminDep = Annotated[Viewer, Depends(permitted(Action.MANAGE_ACCESS))]
#: Anyone who may record something (the liaison work is the widest right); which events
#: they may record is `pathway.permissions.may_record`, checked per event.
EventRecorderDep = Annotated[Viewer, Depends(permitted(Action.RECORD_LIAISON))]
ReminderActorDep = Annotated[Viewer, Depends(permitted(Action.ACT_ON_REMINDER))]
AssignerDep = Annotated[Viewer, Depends(permitted(Action.ASSIGN_REMINDER))]
RetrierDep = Annotated[Viewer, Depends(permitted(Action.RETRY_DELIVERY))]


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked against the session."""
    form = await request.form()
    if not csrf_ok(request.session, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go back to (never an absolute or protocol-relative URL)."""
    if not target:
        return default
    parts = urlsplit(target)
    # Browsers read "/\host" like "//host": refuse backslashes as well as other sites.
    offsite = parts.scheme or parts.netloc or target.startswith("//") or "\\" in target
    if offsite or not target.startswith("/"):
        return default
    return target


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Show a message on the next page (post/redirect/get)."""
    request.session[FLASH_KEY] = {"kind": kind, "message": message}


def redirect(path: str) -> RedirectResponse:
    """See-other redirect after a POST."""
    return RedirectResponse(path, status_code=303)


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(next_path, safe='')}", status_code=303)


def render(
    request: Request, board: Dashboard, template: str, context: dict[str, Any],
    *, viewer: Viewer | None = None, status_code: int = 200, csp: str | None = None,
) -> HTMLResponse:
    """Render a page with what every page needs (viewer, CSRF token, flash, today)."""
    page = {
        "viewer": viewer,
        "csrf_token": csrf_token(request.session),
        "csrf_field": CSRF_FIELD,
        "flash": request.session.pop(FLASH_KEY, None),
        "today": board.today(),
        "zone": board.runtime.settings.zone,
        "path": request.url.path,
        **context,
    }
    response = board.templates.TemplateResponse(request, template, page, status_code=status_code)
    if csp is not None:
        response.headers["Content-Security-Policy"] = csp
    return response


def audit_page(request: Request, board: Dashboard, viewer: Viewer, what: str, *,
               patient_id: int | None = None, episode_id: int | None = None,
               detail: dict[str, object] | None = None) -> None:
    """Write a page's read of patient data to the access log (`pathway.audit`), in a short
    transaction of its own (pages read through a reader): if it fails, the page fails."""
    audit_reads(request, board, viewer, what, [(patient_id, episode_id)], detail)


def audit_reads(request: Request, board: Dashboard, viewer: Viewer, what: str,
                subjects: list[tuple[int | None, int | None]],
                detail: dict[str, object] | None = None) -> None:
    """Write reads of several patients' data (an export: one row per patient and episode,
    so a query by patient finds it), in one short transaction of its own."""
    address = request.client.host if request.client else None
    reads = [Read(actor=viewer.actor, what=what, client_address=address, patient_id=patient,
                  episode_id=episode, detail=detail) for patient, episode in subjects]
    with transaction(board.runtime.sessions) as writer:
        record_reads(writer, reads, at=board.now())


def error_page(
    request: Request, board: Dashboard, *, status_code: int, title: str, message: str,
    viewer: Viewer | None = None,
) -> Response:
    """A plain error page with a way back."""
    return render(request, board, "error.html", {"title": title, "message": message},
                  viewer=viewer, status_code=status_code)
