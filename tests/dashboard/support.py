"""The dashboard under test: the real app on a test database, users, a fixed clock, logins."""

from __future__ import annotations

import datetime as dt
import functools
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.dashboard import install
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction
from pathway.store.models import User
from tests.support.databases import TestDatabase

PASSWORD = "correct horse battery"
USERS = {"coord": "coordinator", "lead": "clinician", "boss": "admin"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(runtime: Runtime) -> FastAPI:
    """The product's app; the dashboard is installed by `create_app` (or here, if not yet)."""
    app = create_app(runtime)
    if not hasattr(app.state, "dashboard"):
        install(app, runtime)
    return app


def make_runtime(db: TestDatabase, clock: Callable[[], dt.datetime]) -> Runtime:
    """A runtime on the test database with the given clock."""
    return Runtime(settings=Settings(database_url=db.url), engine=db.engine,
                   sessions=db.sessions, clock=clock)


@functools.cache
def _password_hash() -> str:
    # argon2 is slow on purpose: hash the test password once per run, not once per user.
    return PasswordHasher().hash(PASSWORD)


def add_users(db: TestDatabase, now: dt.datetime) -> None:
    """One user per dashboard role, all with PASSWORD (`pathway.access` verifies them)."""
    with transaction(db.sessions) as session:
        session.add_all(
            User(username=username, password_hash=_password_hash(), role=role, active=True,
                 display_name=username.title(), created_at=now)
            for username, role in USERS.items())


def csrf_of(html: str) -> str:
    """The CSRF token in a rendered page."""
    found = _TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, username: str = "coord") -> None:
    """Log a TestClient in through the login form."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def post_form(client: TestClient, page_path: str, action: str, data: dict[str, Any]) -> Response:
    """Load a page (for its CSRF token) and post a form from it, without following."""
    token = csrf_of(client.get(page_path).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """uvicorn serving the app in a thread, on a free loopback port."""

    app: FastAPI
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, app: FastAPI) -> LiveServer:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return cls(app, port, server, thread)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
