"""The FastAPI application: integration API under /v1 and the dashboard, on one Runtime."""

from __future__ import annotations

from fastapi import FastAPI

from pathway.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """Build the application around a runtime (settings, database, clock)."""
    app = FastAPI(title="Pathway", version="1")
    app.state.runtime = runtime

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
