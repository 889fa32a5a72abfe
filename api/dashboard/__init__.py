"""The coordinators' dashboard: server-rendered pages mounted on the API's FastAPI app.

`install(app, runtime)` is the only entry point; `api.app.create_app` calls it. Pages are
Jinja2 (autoescaped) with light progressive enhancement: charts (Chart.js) and the pathway
diagram (Mermaid) are served from `api/static/vendor/`, never from a CDN, and every chart has
a table beside it that says the same thing.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from api.dashboard import (
    auth_pages,
    episode_pages,
    kpi_pages,
    pathway_pages,
    reminder_pages,
    worklist,
)
from api.dashboard.security import LoginThrottle, SecurityHeaders
from api.dashboard.web import (
    CsrfRefused,
    Dashboard,
    Forbidden,
    LoginRequired,
    error_page,
    login_redirect,
    make_templates,
)
from pathway.runtime import Runtime

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
SESSION_COOKIE = "pathway_session"
SESSION_MAX_AGE = 8 * 3600  # one working shift


def install(app: FastAPI, runtime: Runtime) -> None:
    """Mount the dashboard's pages (/, /login, /episodes/{id}, ...) and static files on `app`."""
    board = Dashboard(runtime=runtime, templates=make_templates(), throttle=LoginThrottle())
    app.state.dashboard = board
    # Without a configured secret, sessions last as long as the process (and one process only).
    secret = runtime.settings.session_secret or secrets.token_urlsafe(32)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax",
                       https_only=runtime.settings.secure_cookies)
    app.add_middleware(SecurityHeaders)
    for module in (auth_pages, worklist, episode_pages, reminder_pages, kpi_pages,
                   pathway_pages):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc.next_path)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, board, status_code=403, title="Not allowed",
                          message=exc.message, viewer=exc.viewer)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return error_page(request, board, status_code=403, title="Form expired",
                          message="The form was missing its security token or it had expired. "
                                  "Go back, reload the page and try again.")
