"""Large databases in the shape the use cases produce, built fast.

A template of `TEMPLATE` episodes is made through the real use cases (`pathway.synthetic.demo`:
every state, bone-health facts, reminders already raised for what was overdue), then copied
with INSERT ... SELECT until the database holds the episodes asked for: each copy shifts every
id by a per-table offset (and every foreign key by its table's offset) and suffixes the unique
strings. The rows are the use cases' rows; only the ids and MRNs differ."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Engine, Insert, Table, func, literal, select, text
from sqlalchemy.sql.elements import ColumnElement

from bench.common import BenchDatabase, fresh_database
from pathway.store.db import make_sessionmaker, transaction
from pathway.store.models import Base
from pathway.synthetic.demo import make_demo

#: Episodes made through the use cases, then copied.
TEMPLATE = 1000
#: The instant the template is made at: nothing is due then (the use cases raised it all).
T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
ZONE = ZoneInfo("UTC")

#: Tables that belong to episodes, parents first; the rest (users, versions...) is not copied.
COPIED = ("patients", "episodes", "events", "milestones", "imaging", "therapies", "reminders",
          "reminder_actions", "deliveries", "delivery_attempts")
#: Unique strings that need a suffix per copy.
UNIQUE_TEXT = {("patients", "mrn"), ("deliveries", "delivery_key")}


def _copy_statement(table: Table, copy: int, offsets: dict[str, int]) -> Insert:
    columns: list[ColumnElement[object]] = []
    for column in table.columns:
        columns.append(_shifted(table, column, copy, offsets).label(column.name))
    source = select(*columns).where(table.c.id <= offsets[table.name])
    return table.insert().from_select([c.name for c in table.columns], source)


def _shifted(table: Table, column: Column[object], copy: int,
             offsets: dict[str, int]) -> ColumnElement[object]:
    if column.primary_key:
        return column + literal(copy * offsets[table.name])
    for fk in column.foreign_keys:
        target = fk.column.table.name
        if target in offsets:
            return column + literal(copy * offsets[target])
    if (table.name, column.name) in UNIQUE_TEXT:
        return column.concat(f"-{copy}")
    return column


def make_template(engine: Engine, episodes: int = TEMPLATE, now: dt.datetime = T0) -> None:
    """Make the template episodes through the use cases, as of `now` (T0 unless given)."""
    with transaction(make_sessionmaker(engine)) as session:
        make_demo(session, episodes=episodes, now=now, zone=ZONE, seed=11)


def template_database(backend: str, name: str, postgres_url: str | None) -> BenchDatabase:
    """A fresh database holding the template, to clone and grow to each size."""
    database = fresh_database(backend, name, postgres_url)
    engine = database.engine()
    make_template(engine)
    engine.dispose()
    return database


def grow(engine: Engine, episodes: int, *, log: Callable[[str], None] = print) -> None:
    """Copy the template rows until the database holds `episodes` episodes (rounded up to a
    whole number of templates)."""
    started = time.perf_counter()
    tables = {name: Base.metadata.tables[name] for name in COPIED}  # Table objects
    with engine.begin() as conn:
        offsets = {name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
                   for name, t in tables.items()}
        template = int(conn.execute(text("SELECT count(*) FROM episodes")).scalar_one())
    copies = -(-episodes // template)
    for copy in range(1, copies):
        with engine.begin() as conn:
            for name in COPIED:
                if offsets[name]:
                    conn.execute(_copy_statement(tables[name], copy, offsets))
        if copy % 200 == 0:
            log(f"    copied {copy * template:,} episodes ({time.perf_counter() - started:,.0f} s)")
    if engine.dialect.name == "postgresql":  # ids were given explicitly: move the sequences on
        with engine.begin() as conn:
            for name in COPIED:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"coalesce(max(id), 0) + 1, false) FROM {name}"))
    analyze(engine)
    log(f"    {copies * template:,} episodes ready in {time.perf_counter() - started:,.0f} s")


def build(engine: Engine, episodes: int, *, log: Callable[[str], None] = print,
          now: dt.datetime = T0) -> None:
    """Fill a fresh migrated database with `episodes` episodes (rounded up to the template)."""
    make_template(engine, min(TEMPLATE, episodes), now)
    grow(engine, episodes, log=log)


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics, as a maintained database would have them."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def count(engine: Engine, table: str) -> int:
    """Rows in one table."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
