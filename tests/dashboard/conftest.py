"""Fixtures for the dashboard: a logged-out client on SQLite and PostgreSQL, a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from pathway.runtime import Runtime
from tests.api.support import Clock
from tests.builders import at
from tests.dashboard.support import add_users, make_app, make_runtime
from tests.support.databases import TestDatabase


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
