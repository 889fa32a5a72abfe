"""Workload 1, the scan at scale: an idle tick at 10k / 100k / 1M episodes, and a scan that
raises 100,000 due reminders against the bare SQL that inserts the same rows.

Databases are built by `bench.bulk` (use-case rows, copied). At T0 nothing is due.

- Idle tick: `scheduler.jobs.scan` (the scheduler's own job: one transaction, one indexed
  query) and the whole `reminders_tick` (wake snoozed, scan, escalate: three indexed queries),
  each timed `--idle-runs` times; median and p95.
- Due scan: sets of `--due` open milestones are made due five minutes before a scan time (a
  set of its own for every measurement, disjoint, all alike). Each run measures the bare SQL
  (`bench.bare_scan`: one INSERT ... SELECT for the reminders, one for their history rows, one
  UPDATE of the milestones, committed once), then the scheduler's scan (`scheduler.jobs.scan`:
  the set-based `pathway.scan`, committed per batch) at batches of 1,000 and 5,000 milestones
  (its defaults, `scheduler.jobs.SCAN_BATCH`: 5,000 on SQLite, 1,000 on PostgreSQL);
  `--per-row` adds the per-row ORM scan it replaced. The ratios to the bare SQL are the
  figures.
- PostgreSQL, 4 processes: each scan run by 4 `python -m bench.scan --worker` processes at once
  (FOR UPDATE SKIP LOCKED shares the batches); the raised count is checked against the set.

    .venv/bin/python -m bench.scan              # 10k, 100k, 1M; 100,000 due; SQLite + PostgreSQL
    .venv/bin/python -m bench.scan --quick      # 2k, 20k; 5,000 due
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time

from sqlalchemy import Engine, bindparam, text

from bench import bulk
from bench.bare_scan import bare_scan
from bench.common import (
    BenchDatabase,
    base_parser,
    clone_database,
    median,
    ms,
    percentile,
    run_each_backend,
)
from pathway.reminders import raise_due_reminders
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction
from pathway.store.models import Milestone
from scheduler.jobs import reminders_tick, scan

T0 = bulk.T0


def runtime_for(url: str) -> Runtime:
    """The scheduler's runtime on a bench database."""
    return Runtime.from_settings(Settings(database_url=url))


def idle_ticks(runtime: Runtime, runs: int) -> tuple[list[float], list[float]]:
    """Latencies of the scan job and of the whole reminders tick when nothing is due."""
    now = T0 + dt.timedelta(minutes=20)
    scans: list[float] = []
    ticks: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = scan(runtime, now=now)
        scans.append(time.perf_counter() - t0)
        assert result.examined == 0, result
        t0 = time.perf_counter()
        reminders_tick(runtime, now=now)
        ticks.append(time.perf_counter() - t0)
    return scans, ticks


def scan_time(run: int, base: dt.datetime = T0) -> dt.datetime:
    """When run `run` scans: its set fell due five minutes before. Runs are ten minutes apart,
    so dozens of them fit before the next day starts (at T0 + 15 hours), when milestones of
    the built data itself begin to fall due."""
    return base + dt.timedelta(minutes=30 + 10 * run)


def mark_due(engine: Engine, runs: int, per_run: int, at: dt.datetime = T0) -> None:
    """Make `runs` disjoint sets of `per_run` open milestones due before each run's scan time
    (counted from `at`, the time the database was built as of)."""
    if scan_time(runs, at) >= at + dt.timedelta(hours=14):
        raise SystemExit(f"{runs} due sets do not fit before the next day starts")
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(text(
            "SELECT id FROM milestones WHERE next_alert_at IS NOT NULL ORDER BY id LIMIT :n"),
            {"n": runs * per_run})]
        if len(ids) < runs * per_run:
            raise SystemExit(f"only {len(ids):,} open milestones; need {runs * per_run:,}")
        for run in range(runs):
            chunk = ids[run * per_run:(run + 1) * per_run]
            due_at = scan_time(run, at) - dt.timedelta(minutes=5)
            for first in range(0, len(chunk), 10_000):
                part = chunk[first:first + 10_000]
                conn.execute(  # the column's own type stores the time as the product does
                    text("UPDATE milestones SET next_alert_at = :at WHERE id BETWEEN :lo AND :hi"
                         " AND next_alert_at IS NOT NULL").bindparams(
                        bindparam("at", type_=Milestone.__table__.c.next_alert_at.type)),
                    {"at": due_at, "lo": part[0], "hi": part[-1]})


#: The scans measured: the scheduler's job (`scheduler.jobs.scan`: the set-based
#: `pathway.scan`, committed per batch) at both its default batch sizes, and, on
#: request (`--per-row`), the per-row ORM scan it replaced (`pathway.reminders`).
IMPLEMENTATIONS: dict[str, int] = {"scheduler, batch 1,000": 1000,
                                   "scheduler, batch 5,000": 5000}
PER_ROW = "per-row ORM scan, batch 200"


def run_scan(runtime: Runtime, implementation: str, now: dt.datetime) -> int:
    """Scan until nothing is due, committing per batch; returns the reminders raised."""
    if implementation == PER_ROW:
        raised = 0
        while True:
            with transaction(runtime.sessions) as session:
                step = raise_due_reminders(session, now=now, limit=200)
            raised += step.raised
            if step.examined < 200:
                return raised
    return scan(runtime, now=now, batch=IMPLEMENTATIONS[implementation]).raised


def timed_bare(runtime: Runtime, run: int) -> tuple[float, int]:
    """The bare SQL over run `run`'s due set, committed (as the scans commit theirs)."""
    t0 = time.perf_counter()
    with runtime.engine.begin() as conn:
        rows = bare_scan(conn, now=scan_time(run))
    return time.perf_counter() - t0, rows


def timed_scan(runtime: Runtime, implementation: str, run: int) -> tuple[float, int]:
    """One implementation over run `run`'s due set, committed."""
    t0 = time.perf_counter()
    raised = run_scan(runtime, implementation, scan_time(run))
    return time.perf_counter() - t0, raised


def parallel_scan(url: str, implementation: str, run: int, processes: int) -> tuple[float, int]:
    """`processes` scheduler processes scan at once; wall time until all are done, raised."""
    start_at = time.time() + 3.0  # every worker is up and connected before the start
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scan", "--worker", url, implementation, str(run),
             str(start_at)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        for _ in range(processes)
    ]
    outputs = [w.communicate()[0] for w in workers]
    if any(w.returncode for w in workers):
        raise SystemExit(f"a scan worker failed: {outputs}")
    finished = max(float(out.split()[1]) for out in outputs)
    raised = sum(int(out.split()[0]) for out in outputs)
    return finished - start_at, raised


def worker(url: str, implementation: str, run: int, start_at: float) -> int:
    """A scheduler process: wait for the common start, scan, print raised and finish time."""
    runtime = runtime_for(url)
    with transaction(runtime.sessions) as session:
        session.execute(text("SELECT 1"))  # connected before the clock starts
    time.sleep(max(0.0, start_at - time.time()))
    raised = run_scan(runtime, implementation, scan_time(run))
    print(raised, time.time())
    return 0


def report_idle(size: int, scans: list[float], ticks: list[float]) -> None:
    print(f"  {size:>9,} episodes   scan job: median {ms(median(scans))} ms, "
          f"p95 {ms(percentile(scans, 95))} ms   whole reminders tick: median "
          f"{ms(median(ticks))} ms, p95 {ms(percentile(ticks, 95))} ms")


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    """Idle ticks at each size, then the due scan on the largest database."""
    template = bulk.template_database(backend, "scan_template", postgres_url)
    largest: BenchDatabase | None = None
    try:
        for size in args.sizes:
            database = clone_database(template, f"scan{size}")
            runtime = runtime_for(database.url)
            bulk.grow(runtime.engine, size, log=lambda line: print(line, file=sys.stderr))
            report_idle(size, *idle_ticks(runtime, args.idle_runs))
            runtime.engine.dispose()
            if largest is not None:
                largest.drop()
            largest = database
    finally:
        template.drop()
    assert largest is not None
    try:
        due_scans(backend, largest, args)
    finally:
        largest.drop()


def due_scans(backend: str, database: BenchDatabase, args: argparse.Namespace) -> None:
    """Each run: the bare SQL (rolled back), then each implementation on a due set of its own;
    on PostgreSQL, then each implementation in 4 processes at once."""
    runtime = runtime_for(database.url)
    multi = [4] if backend == "postgresql" else []
    names = [*IMPLEMENTATIONS, *([PER_ROW] if args.per_row else [])]
    sets = args.runs * (1 + len(names) * (1 + len(multi)))
    mark_due(runtime.engine, sets, args.due)
    bulk.analyze(runtime.engine)
    run = 0
    bare: list[float] = []
    took: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.runs):
        seconds, rows = timed_bare(runtime, run)
        assert rows == args.due, (rows, args.due)
        bare.append(seconds)
        run += 1
        for name in names:
            seconds, raised = timed_scan(runtime, name, run)
            assert raised == args.due, (name, raised, args.due)
            took[name].append(seconds)
            run += 1
    print(f"  bare SQL for {args.due:,} reminders: median {median(bare):.2f} s   runs: "
          f"{', '.join(f'{b:.2f}' for b in bare)}")
    for name in names:
        t = median(took[name])
        print(f"  {name}, 1 process: median {t:.2f} s ({args.due / t:,.0f}/s), "
              f"{t / median(bare):.2f}x the bare SQL   runs: "
              f"{', '.join(f'{x:.2f}' for x in took[name])}")
    for processes in multi:
        for name in names:
            walls = []
            for _ in range(args.runs):
                wall, raised = parallel_scan(database.url, name, run, processes)
                assert raised == args.due, (name, raised, args.due)
                walls.append(wall)
                run += 1
            t = median(walls)
            print(f"  {name}, {processes} processes: median {t:.2f} s "
                  f"({args.due / t:,.0f}/s), {t / median(bare):.2f}x the bare SQL; each reminder "
                  f"raised once   runs: {', '.join(f'{w:.2f}' for w in walls)}")
    runtime.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    parser = base_parser(__doc__ or "")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--idle-runs", type=int, default=50)
    parser.add_argument("--per-row", action="store_true",
                        help="also time the per-row ORM scan the scheduler used before")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.due, args.runs, args.idle_runs = "2000,20000", 5_000, 1, 20
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    headline = (f"workload 1: idle scan at {', '.join(f'{s:,}' for s in args.sizes)} episodes; "
                f"a scan raising {args.due:,} reminders; {args.runs} run(s)")
    return run_each_backend(args, headline, run_backend)


if __name__ == "__main__":
    raise SystemExit(main())
