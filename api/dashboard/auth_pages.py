"""Log in (argon2 via `pathway.access.verify_user`, throttled by `pathway.throttle`) and log
out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.security import csrf_token
from api.dashboard.web import (
    SESSION_USER,
    DashboardDep,
    DbDep,
    FormDep,
    flash,
    redirect,
    render,
    safe_next,
)
from pathway import throttle
from pathway.access import verify_user
from pathway.permissions import Action, may
from pathway.store.db import transaction

router = APIRouter()


@router.get("/login")
def login_page(request: Request, board: DashboardDep, next: str = "/") -> Response:
    """The login form."""
    if isinstance(request.session.get(SESSION_USER), str):
        return redirect(safe_next(next))
    return render(request, board, "login.html", {"next": safe_next(next), "error": None})


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login")
def login(request: Request, board: DashboardDep, db: DbDep, form: FormDep) -> Response:
    """Check the password (throttled per user name and address, and per address); on
    success start a fresh session."""
    username = str(form.get("username", "")).strip()[:200]
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    address = _client(request)
    now = board.now()
    policy = board.throttle_policy
    wait = throttle.retry_after(db, username=username, address=address, now=now, policy=policy)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        response = render(request, board, "login.html", {"next": target, "error": message},
                          status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = verify_user(db, username=username, password=password) if username else None
    if user is None or not may(user.role, Action.USE_DASHBOARD):
        with transaction(board.runtime.sessions) as writer:
            throttle.failed(writer, username=username, address=address, now=now)
        return render(request, board, "login.html",
                      {"next": target, "error": "Unknown user name or wrong password."},
                      status_code=401)
    with transaction(board.runtime.sessions) as writer:
        throttle.succeeded(writer, username=username, address=address)
    # A new session on login (the middleware ends the old one): nothing from before,
    # the CSRF token included, carries over.
    request.session.clear()
    request.session[SESSION_USER] = user.username
    csrf_token(request.session)
    return redirect(target)


@router.post("/logout")
def logout(request: Request, form: FormDep) -> Response:
    """End the session (its row is stamped ended: a copied cookie no longer works)."""
    request.session.clear()
    flash(request, "You are logged out.")
    return redirect("/login")
