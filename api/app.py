"""The FastAPI application: integration API under /v1 and the dashboard, on one Runtime.

Layers, outermost first: the header policy (`api.headers`), request log and counters, body
guard (413, unstorable text), the dashboard's session and security middleware, FastAPI's
routing with the problem handlers.
"""

from __future__ import annotations

from fastapi import FastAPI

from api import dashboard
from api.docs import install_docs
from api.headers import HeaderPolicy
from api.idempotency import IdempotentReplay, on_replay
from api.metrics import RequestCounter
from api.middleware import BodyGuard, RequestLog
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.routes import accounts, admin, episodes, ops, pathway, reminders
from pathway.runtime import Runtime

DESCRIPTION = """\
Drive the vertebral compression fracture pathway (PATHWAY.md) over HTTP.

* Authenticate with an API key: `Authorization: Bearer pw_...` (`pathway api-key create`).
* Every POST accepts `Idempotency-Key`: a retry with the same key and body returns the first
  response and changes nothing. Keys are kept for 24 hours (`PATHWAY_IDEMPOTENCY_RETENTION_HOURS`),
  then forgotten.
* `POST /v1/episodes/{id}/events` accepts `If-Match` with the episode's `ETag`.
* Every error is `application/problem+json` (RFC 9457).
"""


def create_app(runtime: Runtime) -> FastAPI:
    """Build the application around a runtime (settings, database, clock)."""
    app = FastAPI(title="Pathway", version="1", description=DESCRIPTION, docs_url=None,
                  redoc_url=None)
    app.state.runtime = runtime
    app.state.requests = RequestCounter()
    install_problem_handlers(app)
    app.add_exception_handler(IdempotentReplay, on_replay)
    for module in (ops, episodes, reminders, pathway, admin, accounts):
        app.include_router(module.router)
    install_openapi(app)
    install_docs(app)
    dashboard.install(app, runtime)
    app.add_middleware(BodyGuard, max_body_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(RequestLog, counter=app.state.requests)
    app.add_middleware(HeaderPolicy, https=runtime.settings.secure_cookies)
    return app
