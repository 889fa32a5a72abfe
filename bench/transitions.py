"""Workload 2, transitions in-process: open N episodes, then advance each through four steps.

Every open and every step is its own transaction through the use cases (`open_episode`,
`apply_event`), as an edge would run it. The clinical timeline is realistic: opened on day 0,
conservative care on day 1, reassessment (persistent) on day 30, follow-up imaging (stable) on
day 58, a bisphosphonate recorded on day 60. Between phases the scheduler's scan runs (untimed),
as it would in production, so a step pays for what it resolves but not for the scan's backlog.

Storage is the database size divided by the episodes: first of the database the timed run
built (episodes with all their events, milestones, reminders and history), then of the same
rows copied up to `--storage-episodes` episodes by `bench.bulk.grow` (ids shifted, MRNs
suffixed), with a per-table breakdown (indexes included) where SQLite's dbstat is available.

Also printed: two yardsticks measured in the same run, the floor (transactions per second that
each read one row by id through the same session factory: what one transaction per step can
reach at best with SQLAlchemy sessions here) and, on SQLite, the bare statements
(`bench.bare_transitions`: an open's and a step's statements written by hand on the sqlite3
cursor, one transaction each: what the database and driver alone cost); and the SQL statements
each call sends, which do not depend on the machine.

    .venv/bin/python -m bench.transitions            # 10,000 episodes x 3 runs, storage at 100,000
    .venv/bin/python -m bench.transitions --quick    # 1,000 episodes x 1 run, storage at 5,000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from bench import bulk
from bench.bare_transitions import bare_rates
from bench.bare_transitions_pg import bare_rates_pg
from bench.common import (
    BenchDatabase,
    backends,
    base_parser,
    fresh_database,
    machine_line,
    median,
    ms,
    percentile,
    postgres_server_url,
)
from pathway.episodes import apply_event, open_episode
from pathway.scan import raise_all_due
from pathway.store.db import make_sessionmaker, transaction
from pathway.store.models import Episode

ZONE = ZoneInfo("UTC")
DAY0 = dt.date(2026, 3, 2)
ACTOR = "bench"

#: (event, day it happens, data): the workload of the issue, on a clinical timeline.
STEPS: tuple[tuple[str, int, dict[str, Any]], ...] = (
    ("start_conservative_care", 1, {}),
    ("record_reassessment", 30, {"pain_score": 6, "symptoms": "persistent"}),
    ("record_imaging", 58, {"modality": "mri", "finding": "stable"}),
    ("record_therapy", 60, {"agent": "alendronate"}),
)


def at(day: int) -> dt.datetime:
    """09:00 UTC on day `day` of the cohort."""
    return dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(9), tzinfo=dt.UTC)


def intake(index: int, prefix: str) -> dict[str, Any]:
    """A plain intake: intact, no red flags, one level; the MRN is unique per run."""
    return {
        "patient": {"mrn": f"{prefix}{index:08d}"},
        "levels": ["L1"] if index % 3 else ["T12", "L1"],
        "identified_on": DAY0.isoformat(),
        "cause": "osteoporotic",
        "neuro_exam": "intact",
        "red_flags": [],
        "pain_score": 3 + index % 7,
        "coordinator": f"coordinator{index % 8}",
    }


@dataclass
class RunResult:
    """One run's figures: rates per wall-clock second and per CPU second of this process (the
    second is steadier on a shared machine: SQLite runs in-process, so the CPU is the work)."""

    opens_per_s: float
    opens_per_cpu_s: float
    open_latencies: list[float]
    steps_per_s: float = 0.0
    steps_per_cpu_s: float = 0.0
    step_latencies: dict[str, list[float]] = field(default_factory=dict)
    scan_raised: int = 0


def _scan(factory: sessionmaker[Session], now: dt.datetime) -> int:
    with transaction(factory) as session:
        return raise_all_due(session, now=now).raised


@dataclass
class Phase:
    """Wall time, this process's CPU time and per-call latencies of a batch of calls."""

    wall: float
    cpu: float
    latencies: list[float]


def _timed(calls: list[Callable[[], None]]) -> Phase:
    latencies: list[float] = []
    cpu = time.process_time()
    start = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t0)
    return Phase(time.perf_counter() - start, time.process_time() - cpu, latencies)


def run_once(database: BenchDatabase, episodes: int, prefix: str) -> RunResult:
    """Open `episodes` episodes and take each through the four steps."""
    engine = database.engine()
    factory = make_sessionmaker(engine)
    ids: list[int] = []

    def opener(index: int) -> Callable[[], None]:
        def call() -> None:
            with transaction(factory) as session:
                ids.append(open_episode(session, intake=intake(index, prefix), actor=ACTOR,
                                        now=at(0), zone=ZONE).id)
        return call

    opened = _timed([opener(i) for i in range(episodes)])
    result = RunResult(episodes / opened.wall, episodes / opened.cpu, opened.latencies)
    step_wall = step_cpu = 0.0
    for event, day, data in STEPS:
        result.scan_raised += _scan(factory, at(day))

        def stepper(episode_id: int, event: str = event, day: int = day,
                    data: dict[str, Any] = data) -> Callable[[], None]:
            def call() -> None:
                with transaction(factory) as session:
                    apply_event(session, episode_id=episode_id, event=event, data=data,
                                actor=ACTOR, now=at(day), zone=ZONE,
                                occurred_on=DAY0 + dt.timedelta(days=day))
            return call

        phase = _timed([stepper(i) for i in ids])
        step_wall += phase.wall
        step_cpu += phase.cpu
        result.step_latencies[event] = phase.latencies
    result.steps_per_s = len(ids) * len(STEPS) / step_wall
    result.steps_per_cpu_s = len(ids) * len(STEPS) / step_cpu
    engine.dispose()
    return result


def statements_per_call(database: BenchDatabase) -> dict[str, float]:
    """SQL statements one open and each step send (BEGIN and COMMIT included), counted on a
    few episodes: the figure the pathway code controls, whatever the machine's speed."""
    engine = database.engine()
    factory = make_sessionmaker(engine)
    sent: list[str] = []
    sa_event.listen(engine, "before_cursor_execute",
                 lambda *args: sent.append(str(args[2])))
    counts: dict[str, float] = {}
    sample = 20
    with_commit = 1  # COMMIT is a DBAPI call, not a statement the listener sees
    ids: list[int] = []
    sent.clear()
    for index in range(sample):
        with transaction(factory) as session:
            ids.append(open_episode(session, intake=intake(index, "Q"), actor=ACTOR, now=at(0),
                                    zone=ZONE).id)
    counts["open_episode"] = len(sent) / sample + with_commit
    for event_name, day, data in STEPS:
        with transaction(factory) as session:
            raise_all_due(session, now=at(day))
        sent.clear()
        for episode_id in ids:
            with transaction(factory) as session:
                apply_event(session, episode_id=episode_id, event=event_name, data=data,
                            actor=ACTOR, now=at(day), zone=ZONE,
                            occurred_on=DAY0 + dt.timedelta(days=day))
        counts[event_name] = len(sent) / sample + with_commit
    engine.dispose()
    return counts


def transaction_floor(database: BenchDatabase, episodes: int) -> float:
    """Transactions per second when each only reads one episode row by id with a prebuilt Core
    statement: the ceiling for one transaction per step with this stack on this machine."""
    engine = database.engine()
    factory = make_sessionmaker(engine)
    table = Episode.__table__
    query = select(table.c.id, table.c.version).where(table.c.id == bindparam("id"))
    start = time.perf_counter()
    for episode_id in range(1, episodes + 1):
        with transaction(factory) as session:
            session.execute(query, {"id": episode_id}).first()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return episodes / elapsed


def table_sizes(database: BenchDatabase) -> dict[str, int]:
    """Bytes per table including its indexes (SQLite dbstat or PostgreSQL's catalog)."""
    engine = database.engine()
    sizes: dict[str, int] = {}
    with engine.connect() as conn:
        if database.backend == "sqlite":
            try:
                rows = conn.execute(text(
                    "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                    "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"))
            except Exception:  # noqa: BLE001 - dbstat is a compile-time option of SQLite
                return {}
        else:
            rows = conn.execute(text(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'"))
        sizes = {str(name): int(size) for name, size in rows}
    engine.dispose()
    return sizes


def report_storage(database: BenchDatabase, built: int, target: int) -> None:
    """Bytes per episode of the database the use cases built, then of the same rows copied up
    to `target` episodes (`bench.bulk.grow`: ids shifted, MRNs suffixed, nothing else)."""
    for label in ("as built by the use cases", "grown by copying the same rows"):
        if label.startswith("grown"):
            if target <= built:
                return
            engine = database.engine()
            bulk.grow(engine, target, log=lambda line: print(line, file=sys.stderr))
            engine.dispose()
        episodes = target if label.startswith("grown") else built
        size = database.size_bytes()
        print(f"  storage at {episodes:,} episodes ({label}): {size / episodes:,.0f} "
              f"bytes/episode (database {size / 1e6:,.1f} MB)")
    sizes = table_sizes(database)
    for name, value in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]:
        if value / target >= 1:
            print(f"    {name:<22} {value / target:7,.0f} bytes/episode (with its indexes)")


def report(backend: str, results: list[RunResult]) -> None:
    """Print the medians over runs."""
    for label, wall, cpu in (
        ("opens", [r.opens_per_s for r in results], [r.opens_per_cpu_s for r in results]),
        ("steps", [r.steps_per_s for r in results], [r.steps_per_cpu_s for r in results]),
    ):
        print(f"  {label}/s  median {median(wall):,.0f} (wall clock), {median(cpu):,.0f} per CPU "
              f"second   runs: {', '.join(f'{v:,.0f}' for v in wall)}")
    print(f"  {'latency (ms)':<26}{'p50':>9}{'p99':>9}")
    p50 = median([percentile(r.open_latencies, 50) for r in results])
    p99 = median([percentile(r.open_latencies, 99) for r in results])
    print(f"  {'open_episode':<26}{ms(p50):>9}{ms(p99):>9}")
    for event, _day, _data in STEPS:
        p50 = median([percentile(r.step_latencies[event], 50) for r in results])
        p99 = median([percentile(r.step_latencies[event], 99) for r in results])
        print(f"  {event:<26}{ms(p50):>9}{ms(p99):>9}")
    print(f"  reminders raised by the scans between phases: {results[-1].scan_raised:,}")


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--storage-episodes", type=int, default=100_000)
    args: argparse.Namespace = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.storage_episodes, args.runs = 1_000, 5_000, 1
    postgres_url = postgres_server_url(args.postgres_url)
    print(machine_line())
    print(f"workload 2: {args.episodes:,} episodes opened, then 4 steps each; "
          f"one transaction per open and per step; {args.runs} run(s)")
    for backend in backends(args):
        print(f"[{backend}]")
        results = []
        floors = []
        bare: list[tuple[float, float]] = []
        for run in range(args.runs):
            database = fresh_database(backend, "transitions", postgres_url)
            try:
                results.append(run_once(database, args.episodes, prefix=f"R{run}-"))
                floors.append(transaction_floor(database, args.episodes))
                # A database of its own, so storage is the pathway's.
                yardstick = fresh_database(backend, "bare_transitions", postgres_url)
                try:
                    if backend == "sqlite":
                        assert yardstick.path is not None
                        bare.append(bare_rates(yardstick.path, args.episodes, prefix="B-"))
                    else:
                        bare.append(bare_rates_pg(yardstick.url, args.episodes, prefix="B-"))
                finally:
                    yardstick.drop()
                if run == args.runs - 1:
                    report(backend, results)
                    report_storage(database, args.episodes, args.storage_episodes)
            finally:
                database.drop()
        print(f"  floor: {median(floors):,.0f} transactions/s that each read one row by id "
              f"(same session factory, same run)")
        if bare:
            opens, steps = median([b[0] for b in bare]), median([b[1] for b in bare])
            pathway_opens = median([r.opens_per_s for r in results])
            pathway_steps = median([r.steps_per_s for r in results])
            cursor = "sqlite3" if backend == "sqlite" else "psycopg"
            print(f"  bare statements on the {cursor} cursor (same run): {opens:,.0f} opens/s, "
                  f"{steps:,.0f} steps/s; pathway reaches {pathway_opens / opens:.0%} and "
                  f"{pathway_steps / steps:.0%} of them")
        database = fresh_database(backend, "statements", postgres_url)
        try:
            counts = statements_per_call(database)
        finally:
            database.drop()
        print("  statements per call (incl. BEGIN, COMMIT): " + ", ".join(
            f"{name} {n:.1f}" for name, n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
