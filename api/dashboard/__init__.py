"""The coordinators' dashboard: server-rendered pages mounted on the API's FastAPI app.

`install(app, runtime)` is the only entry point; `api.app.create_app` calls it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pathway.runtime import Runtime

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI, runtime: Runtime) -> None:
    """Mount the dashboard's pages (/, /login, /episodes/{id}, ...) and static files on `app`."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
