"""`pathway serve`: the API and the dashboard under uvicorn, with the scheduler embedded.

uvicorn's access log is off: it would write query strings, which may carry an MRN. The app's
own request log writes the route template and ids instead. Every handler escapes and bounds
the values it writes (`pathway.logs`), so no client can start a line of its own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from pathway.logs import protect_root
from pathway.runtime import Runtime
from scheduler.process import start_embedded

log = logging.getLogger("pathway.api")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def with_embedded_scheduler(app: FastAPI, runtime: Runtime) -> None:
    """Run the scheduler's jobs on a background thread for as long as the app is up."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        handle = start_embedded(runtime)
        log.info("embedded scheduler started")
        try:
            yield
        finally:
            handle.shutdown(wait=True)
            log.info("embedded scheduler stopped")

    app.router.lifespan_context = lifespan


def serve(runtime: Runtime, *, embedded_scheduler: bool = True) -> None:
    """Serve on `settings.host:settings.port` until stopped."""
    settings = runtime.settings
    # force: the migration that ran first configured logging for alembic (root at WARN).
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT, force=True)
    protect_root()  # every value escaped and bounded (pathway.logs)
    # One line per job run every few seconds drowns the request log.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    app = create_app(runtime)
    if embedded_scheduler:
        with_embedded_scheduler(app, runtime)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_config=None,
                log_level=settings.log_level.lower(), server_header=False)
