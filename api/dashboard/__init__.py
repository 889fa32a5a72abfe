"""The coordinators' dashboard: server-rendered pages mounted on the API's FastAPI app.

`install(app, runtime)` is the only entry point; `api.app.create_app` calls it. Pages are
Jinja2 (autoescaped) with light progressive enhancement: charts (Chart.js) and the pathway
diagram (Mermaid) are served from `api/static/vendor/`, never from a CDN, and every chart has
a table beside it that says the same thing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from api.dashboard import (
    admin_pages,
    auth_pages,
    episode_pages,
    intake_pages,
    kpi_pages,
    pathway_pages,
    reminder_bulk,
    reminder_pages,
    worklist,
    worklist_views,
)
from api.dashboard.security import SecurityHeaders
from api.dashboard.sessions import ServerSessions
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


def install(app: FastAPI, runtime: Runtime) -> None:
    """Mount the dashboard's pages (/, /login, /episodes/{id}, ...) and static files on `app`."""
    board = Dashboard(runtime=runtime, templates=make_templates())
    app.state.dashboard = board
    app.add_middleware(ServerSessions, runtime=runtime)
    app.add_middleware(SecurityHeaders)
    # intake_pages before episode_pages: /episodes/new is not an /episodes/{episode_id}.
    for module in (auth_pages, worklist, worklist_views, intake_pages, episode_pages,
                   reminder_pages, reminder_bulk, kpi_pages, pathway_pages, admin_pages):
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
