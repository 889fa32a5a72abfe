"""The administration pages (admins only): users (add, change role, set a password,
deactivate, end their sessions), API keys (create, rotate, revoke; a secret is shown once, on
the page that made it, and never stored in a session), the sessions going now, and the two
logs an auditor reads: who read which patient's data, and who changed access. Every change
goes through `pathway.access`, which writes it to the administration log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.dashboard.web import (
    AdminDep,
    Dashboard,
    DashboardDep,
    DbDep,
    FormDep,
    Viewer,
    flash,
    redirect,
    render,
)
from pathway import access, audit
from pathway.errors import Duplicate, InvalidData, NotFound, PathwayError
from pathway.sessions import live_sessions
from pathway.store.db import transaction
from pathway.vocabulary import Role

router = APIRouter()
ROLES = [r.value for r in Role]


def _context(db: Session, board: Dashboard) -> dict[str, Any]:
    now = board.now()
    return {
        "users": access.list_users(db),
        "api_keys": access.list_api_keys(db),
        "sessions": live_sessions(db, now=now, policy=board.runtime.session_policy),
        "changes": access.changes(db, limit=20),
        "roles": ROLES,
        "now": now,
        "secret": None,
        "error": None,
        "open_form": None,
        "entered": {},
    }


def _page(request: Request, board: Dashboard, viewer: Viewer, *, status_code: int = 200,
          **extra: Any) -> Response:
    with board.runtime.sessions() as db:  # after the change: what it looks like now
        context = {**_context(db, board), **extra}
    return render(request, board, "admin.html", context, viewer=viewer,
                  status_code=status_code)


def _status(exc: PathwayError) -> int:
    if isinstance(exc, InvalidData):
        return 422
    if isinstance(exc, Duplicate):
        return 409
    if isinstance(exc, NotFound):
        return 404
    return 400


def _text(form: Any, name: str, limit: int = 256) -> str:
    return str(form.get(name, "")).strip()[:limit]


@router.get("/admin")
def admin_page(request: Request, board: DashboardDep, db: DbDep, viewer: AdminDep) -> Response:
    """Users, keys (by prefix, never in full), sessions and the latest changes."""
    return render(request, board, "admin.html", _context(db, board), viewer=viewer)


def _change(request: Request, board: Dashboard, viewer: Viewer, done: str,
            change: Any, *, form_id: str | None = None,
            entered: dict[str, str] | None = None) -> Response:
    """Run one change in its own transaction; a refusal re-renders the page saying why, with
    the form it came from open and what was typed in it (never a password)."""
    try:
        with transaction(board.runtime.sessions) as session:
            result = change(session)
    except PathwayError as exc:
        if isinstance(exc, InvalidData):
            message = f"{exc.field.replace('_', ' ').capitalize()} {exc.reason}"
        else:
            message = str(exc)
        return _page(request, board, viewer, status_code=_status(exc), error=message,
                     open_form=form_id, entered=entered or {})
    if isinstance(result, tuple):  # a new key's secret: shown on this page, once
        key, raw = result
        return _page(request, board, viewer, secret={"name": key.name, "prefix": key.prefix,
                                                     "value": raw})
    flash(request, done)
    return redirect("/admin")


@router.post("/admin/users")
def create_user(request: Request, board: DashboardDep, viewer: AdminDep,
                form: FormDep) -> Response:
    username = _text(form, "username", 80)
    entered = {k: _text(form, k, 200) for k in ("username", "display_name", "email", "role")}
    return _change(request, board, viewer, f"User {username} added.", lambda s:
        access.create_user(s, username=username, password=str(form.get("password", "")),
                           role=_text(form, "role", 20),
                           display_name=_text(form, "display_name", 200) or None,
                           email=_text(form, "email", 200) or None,
                           now=board.now(), actor=viewer.actor),
        form_id="add-user", entered=entered)


@router.post("/admin/users/{username}/role")
def set_role(request: Request, username: str, board: DashboardDep, viewer: AdminDep,
             form: FormDep) -> Response:
    role = _text(form, "role", 20)
    return _change(request, board, viewer, f"{username} is now {role}.", lambda s:
        access.set_role(s, username=username, role=role, now=board.now(),
                        actor=viewer.actor))


@router.post("/admin/users/{username}/password")
def set_password(request: Request, username: str, board: DashboardDep, viewer: AdminDep,
                 form: FormDep) -> Response:
    return _change(request, board, viewer,
                   f"Password of {username} set; their sessions have ended.", lambda s:
                       access.set_password(s, username=username,
                                           password=str(form.get("password", "")),
                                           now=board.now(), actor=viewer.actor))


@router.post("/admin/users/{username}/active")
def set_active(request: Request, username: str, board: DashboardDep, viewer: AdminDep,
               form: FormDep) -> Response:
    active = form.get("active") == "1"
    done = f"{username} can log in again." if active else \
        f"{username} is deactivated; their sessions have ended."
    return _change(request, board, viewer, done, lambda s:
        access.set_active(s, username=username, active=active, now=board.now(),
                          actor=viewer.actor))


@router.post("/admin/users/{username}/sessions/end")
def end_sessions(request: Request, username: str, board: DashboardDep, viewer: AdminDep,
                 form: FormDep) -> Response:
    return _change(request, board, viewer, f"Every session of {username} has ended.",
                   lambda s: access.end_user_sessions(s, username=username, now=board.now(),
                                                      actor=viewer.actor))


def _days(form: Any) -> int:
    raw = _text(form, "expires_in_days", 10) or str(access.DEFAULT_KEY_DAYS)
    if not raw.isdigit():
        raise InvalidData("expires_in_days", "must be a whole number of days (0: never)")
    return int(raw)


@router.post("/admin/api-keys")
def create_key(request: Request, board: DashboardDep, viewer: AdminDep,
               form: FormDep) -> Response:
    entered = {k: _text(form, k, 80) for k in ("name", "role", "expires_in_days")}
    return _change(request, board, viewer, "", lambda s: access.create_api_key(
        s, name=_text(form, "name", 80), role=_text(form, "role", 20), now=board.now(),
        expires_in_days=_days(form), actor=viewer.actor), form_id="add-key", entered=entered)


@router.post("/admin/api-keys/{name}/rotate")
def rotate_key(request: Request, name: str, board: DashboardDep, viewer: AdminDep,
               form: FormDep) -> Response:
    return _change(request, board, viewer, "", lambda s: access.rotate_api_key(
        s, name=name, now=board.now(), expires_in_days=_days(form), actor=viewer.actor))


@router.post("/admin/api-keys/{name}/revoke")
def revoke_key(request: Request, name: str, board: DashboardDep, viewer: AdminDep,
               form: FormDep) -> Response:
    prefix = _text(form, "prefix", 16) or None
    what = f"Secret {prefix}… of {name}" if prefix else f"Every secret of {name}"
    return _change(request, board, viewer, f"{what} revoked.", lambda s:
        access.revoke_api_key(s, name=name, prefix=prefix, now=board.now(),
                              actor=viewer.actor))


@router.get("/admin/access")
def access_log(request: Request, board: DashboardDep, db: DbDep, viewer: AdminDep,
               mrn: str = "", actor: str = "", before: int = 0) -> Response:
    """Who read which patient's data: by MRN, or by user (`user:<name>`) or key."""
    mrn, actor = mrn.strip()[:64], actor.strip()[:120]
    error = None
    entries: list[Any] = []
    before_id = before if 0 < before < 2**31 else None
    try:
        if mrn:
            entries = [e for e in audit.reads_of_patient(db, mrn, before_id=before_id)
                       if not actor or e.actor == actor]
        else:
            entries = audit.reads_by(db, actor or None, before_id=before_id)
    except NotFound:
        error = f"No patient has MRN {mrn}."
    return render(request, board, "access_log.html", {
        "mrn": mrn, "actor": actor, "entries": entries, "error": error,
        "older": entries[-1].id if len(entries) == 100 else None,
    }, viewer=viewer, status_code=404 if error else 200)
