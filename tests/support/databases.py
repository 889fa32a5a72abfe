"""Throwaway databases for tests: a migrated template per backend, copied per test."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pathway.store.db import make_engine, make_sessionmaker
from pathway_cli.schema import alembic_config

POSTGRES_ENV = "PATHWAY_TEST_POSTGRES_URL"
# One template per test process, so concurrent runs on one server don't drop each other's.
TEMPLATE = f"pathway_template_{os.getpid()}"


@dataclass
class TestDatabase:
    __test__ = False

    """A migrated database of its own: URL, engine and session factory."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    _cleanup: list[object] = field(default_factory=list)

    def dispose(self) -> None:
        self.engine.dispose()


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin_engine(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


class DatabaseFactory:
    """Makes fresh migrated databases quickly by copying a template made once per run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite_template: Path | None = None
        self._pg_ready = False

    def sqlite(self) -> TestDatabase:
        if self._sqlite_template is None:
            self._sqlite_template = self.workdir / "template.db"
            migrate(f"sqlite:///{self._sqlite_template}")
        path = self.workdir / f"t_{uuid.uuid4().hex}.db"
        shutil.copy(self._sqlite_template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        return TestDatabase("sqlite", url, engine, make_sessionmaker(engine))

    def postgresql(self, admin_url: str) -> TestDatabase:
        admin = _admin_engine(admin_url)
        try:
            with admin.connect() as conn:
                if not self._pg_ready:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
                    conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
                    migrate(_with_database(admin_url, TEMPLATE))
                    self._pg_ready = True
                name = f"t_{uuid.uuid4().hex[:20]}"
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        finally:
            admin.dispose()
        url = _with_database(admin_url, name)
        engine = make_engine(url, pool_size=5, max_overflow=20)
        return TestDatabase("postgresql", url, engine, make_sessionmaker(engine))

    def close(self) -> None:
        """Drop this run's PostgreSQL template (the SQLite one lives in a temp dir)."""
        admin_url = postgres_admin_url()
        if not self._pg_ready or admin_url is None:
            return
        admin = _admin_engine(admin_url)
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        finally:
            admin.dispose()

    def drop(self, db: TestDatabase) -> None:
        db.dispose()
        if db.backend == "sqlite":
            path = Path(make_url(db.url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        admin_url = postgres_admin_url()
        assert admin_url is not None
        admin = _admin_engine(admin_url)
        try:
            with admin.connect() as conn:
                name = make_url(db.url).database
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        finally:
            admin.dispose()
