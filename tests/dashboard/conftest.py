"""Fixtures for the dashboard: a logged-out client on SQLite and PostgreSQL, a fixed clock;
Debian's headless Chromium for the browser tests (one per test module)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from pathway.runtime import Runtime
from tests.api.support import Clock
from tests.builders import at
from tests.dashboard.support import add_users, make_app, make_runtime
from tests.support.databases import TestDatabase

#: Debian's package: test tools' own browser downloads cannot reach the internet here.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "install Debian's chromium (apt-get install -y chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def watched_tab(browser: Browser, *, failed_requests: bool = False) -> Iterator[Page]:
    """A 1280 px tab whose console errors (script errors, CSP violations), and with
    `failed_requests` its failed requests, fail the test when it closes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    if failed_requests:
        tab.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
    yield tab
    context.close()
    assert errors == [], errors


@dataclass
class Board:
    """The dashboard app on a test database, its clock and a browser-like client."""

    db: TestDatabase
    runtime: Runtime
    clock: Clock
    client: TestClient


@pytest.fixture
def board(db: TestDatabase) -> Iterator[Board]:
    """The app with one user per role; the clock stands on day 20 after DAY0."""
    clock = Clock(at(20))
    runtime = make_runtime(db, clock)
    add_users(db, clock())
    with TestClient(make_app(runtime)) as client:
        yield Board(db, runtime, clock, client)
