"""Fixtures for the integration API: an app on the test database with one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import ApiHarness, make_harness
from tests.support.databases import TestDatabase


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiHarness]:
    """The app on SQLite and on PostgreSQL, a movable clock and a key for each role."""
    harness = make_harness(db)
    with harness.client:
        yield harness
