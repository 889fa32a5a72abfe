"""Log in (argon2 via `pathway.access.verify_user`, throttled) and log out."""

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
from pathway.access import verify_user
from pathway.permissions import Action, may

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
    """Check the password; on success start a fresh session."""
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    keys = (f"user:{username.lower()}",)
    # Per address too, with a looser allowance (a ward's computers may share one address):
    # guessing one password across many user names is throttled as well.
    address = (f"addr:{_client(request)}",)
    wait = max(board.throttle.retry_after(*keys), board.address_throttle.retry_after(*address))
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        response = render(request, board, "login.html", {"next": target, "error": message},
                          status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = verify_user(db, username=username, password=password) if username else None
    if user is None or not may(user.role, Action.USE_DASHBOARD):
        board.throttle.failed(*keys)
        board.address_throttle.failed(*address)
        return render(request, board, "login.html",
                      {"next": target, "error": "Unknown user name or wrong password."},
                      status_code=401)
    board.throttle.succeeded(*keys)
    # A new session on login: nothing from before (including the CSRF token) carries over.
    request.session.clear()
    request.session[SESSION_USER] = user.username
    csrf_token(request.session)
    return redirect(target)


@router.post("/logout")
def logout(request: Request, form: FormDep) -> Response:
    """End the session."""
    request.session.clear()
    flash(request, "You are logged out.")
    return redirect("/login")
