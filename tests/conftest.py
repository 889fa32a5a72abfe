"""Shared fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL tests need PATHWAY_TEST_POSTGRES_URL (the test command starts a server and sets
it). Without it they are skipped, unless PATHWAY_REQUIRE_POSTGRES=1 (CI), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.support.databases import DatabaseFactory, TestDatabase, postgres_admin_url

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(Path(tmp_path_factory.mktemp("databases")))
    yield factory
    factory.close()


def _require_postgres() -> str:
    url = postgres_admin_url()
    if url is None:
        if os.environ.get("PATHWAY_REQUIRE_POSTGRES") == "1":
            pytest.fail("PATHWAY_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("PATHWAY_TEST_POSTGRES_URL not set (run the README's test command)")
    return url


def make_database(factory: DatabaseFactory, backend: str) -> TestDatabase:
    """A fresh migrated database on `backend`."""
    if backend == "sqlite":
        return factory.sqlite()
    return factory.postgresql(_require_postgres())


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> Iterator[TestDatabase]:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    database = make_database(database_factory, request.param)
    yield database
    database_factory.drop(database)


@pytest.fixture
def pg_db(database_factory: DatabaseFactory) -> Iterator[TestDatabase]:
    """A fresh migrated PostgreSQL database (for tests only PostgreSQL can run)."""
    database = make_database(database_factory, "postgresql")
    yield database
    database_factory.drop(database)


@pytest.fixture
def sqlite_db(database_factory: DatabaseFactory) -> Iterator[TestDatabase]:
    database = make_database(database_factory, "sqlite")
    yield database
    database_factory.drop(database)


@pytest.fixture
def session(db: TestDatabase) -> Iterator[Session]:
    """A session on the test's database; tests may commit (the database is throwaway)."""
    with db.sessions() as s:
        yield s
