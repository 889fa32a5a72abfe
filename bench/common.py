"""What every benchmark shares: fresh databases, the machine it ran on, medians and percentiles.

Benchmarks never touch the test databases: on PostgreSQL each run creates its own database
(`bench_<name>`) on the server given by `--postgres-url` (or PATHWAY_BENCH_POSTGRES_URL, then
PATHWAY_TEST_POSTGRES_URL) and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from pathway.store.db import is_sqlite, make_engine
from pathway_cli.schema import alembic_config

POSTGRES_ENVS = ("PATHWAY_BENCH_POSTGRES_URL", "PATHWAY_TEST_POSTGRES_URL")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    """One line naming the machine: CPUs, model, Python, SQLite and SQLAlchemy versions."""
    return (f"machine: nproc={os.cpu_count()} cpu={cpu_model()!r} "
            f"python={platform.python_version()} sqlite={sqlite3.sqlite_version} "
            f"sqlalchemy={sqlalchemy.__version__} load_avg={os.getloadavg()[0]:.2f}")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median, 0 for no values."""
    return statistics.median(values) if values else 0.0


def ms(seconds: float) -> str:
    """Seconds as milliseconds with a sensible precision."""
    value = seconds * 1000
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a list that holds the elapsed seconds once the block ends."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def postgres_server_url(explicit: str | None) -> str | None:
    """The PostgreSQL server to create bench databases on, if any."""
    if explicit:
        return explicit
    for name in POSTGRES_ENVS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def migrate(url: str) -> None:
    """Bring a database to the newest schema through the project's migrations."""
    command.upgrade(alembic_config(url), "head")


@dataclass
class BenchDatabase:
    """A throwaway migrated database: its URL, backend and how to drop it."""

    url: str
    backend: str
    path: Path | None = None
    server_url: str | None = None

    def engine(self, **kwargs: object) -> Engine:
        """An engine configured the way the product configures its own."""
        return make_engine(self.url, **kwargs)

    def size_bytes(self) -> int:
        """The database's size on disk (SQLite: after a WAL checkpoint)."""
        if self.backend == "sqlite":
            assert self.path is not None
            engine = create_engine(self.url)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            engine.dispose()
            return int(pages) * int(size)
        engine = create_engine(self.url)
        with engine.connect() as conn:
            value = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        engine.dispose()
        return int(value)

    def drop(self) -> None:
        """Remove the database."""
        if self.backend == "sqlite":
            assert self.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        assert self.server_url is not None
        name = make_url(self.url).database
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_sqlite(name: str, directory: str | None = None) -> BenchDatabase:
    """A new migrated SQLite file (WAL and synchronous=NORMAL come from `make_engine`)."""
    folder = Path(directory or tempfile.gettempdir())
    path = folder / f"pathway_bench_{name}_{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    database = BenchDatabase(url=f"sqlite:///{path}", backend="sqlite", path=path)
    migrate(database.url)
    return database


def fresh_postgres(name: str, server_url: str) -> BenchDatabase:
    """A new migrated PostgreSQL database `bench_<name>` on the given server."""
    db_name = f"bench_{name}_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    admin.dispose()
    url = make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
    database = BenchDatabase(url=url, backend="postgresql", server_url=server_url)
    migrate(url)
    return database


def clone_database(source: BenchDatabase, name: str) -> BenchDatabase:
    """A copy of a bench database (SQLite: the file; PostgreSQL: CREATE DATABASE ... TEMPLATE)."""
    if source.backend == "sqlite":
        assert source.path is not None
        source.size_bytes()  # checkpoints the WAL into the main file
        path = source.path.with_name(f"pathway_bench_{name}_{os.getpid()}.db")
        shutil.copyfile(source.path, path)
        return BenchDatabase(url=f"sqlite:///{path}", backend="sqlite", path=path)
    assert source.server_url is not None
    db_name = f"bench_{name}_{os.getpid()}"
    template = make_url(source.url).database
    admin = create_engine(source.server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db_name}" TEMPLATE "{template}"'))
    admin.dispose()
    url = make_url(source.server_url).set(database=db_name).render_as_string(hide_password=False)
    return BenchDatabase(url=url, backend="postgresql", server_url=source.server_url)


def fresh_database(backend: str, name: str, postgres_url: str | None) -> BenchDatabase:
    """A fresh database on `backend` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        return fresh_sqlite(name)
    if postgres_url is None:
        raise SystemExit("PostgreSQL needs --postgres-url or PATHWAY_TEST_POSTGRES_URL")
    return fresh_postgres(name, postgres_url)


def backends(args: argparse.Namespace) -> list[str]:
    """The backends a run covers: SQLite always, PostgreSQL when a server is known."""
    chosen = [b for b in args.backend.split(",") if b]
    if "postgresql" in chosen and postgres_server_url(args.postgres_url) is None:
        print("note: no PostgreSQL server given; skipping postgresql", file=sys.stderr)
        chosen.remove("postgresql")
    return chosen


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument("--backend", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgres-url", default=None,
                        help="server to create bench databases on (default: "
                             "PATHWAY_BENCH_POSTGRES_URL or PATHWAY_TEST_POSTGRES_URL)")
    return parser


def url_backend(url: str) -> str:
    """"sqlite" or "postgresql" for a database URL."""
    return "sqlite" if is_sqlite(url) else "postgresql"


def run_each_backend(args: argparse.Namespace, headline: str,
                     run_backend: Callable[[str, argparse.Namespace, str | None], None]) -> int:
    """Print the machine line and the workload's headline, then run it on each backend."""
    postgres_url = postgres_server_url(args.postgres_url)
    print(machine_line())
    print(headline)
    for backend in backends(args):
        print(f"[{backend}]")
        run_backend(backend, args, postgres_url)
    return 0
