"""Workload 6, the KPIs at scale: time and peak Python memory of `compute_kpis` (`GET
/v1/kpis`), `monthly_kpis` (a trend) and `kpis_with_trend` (the dashboard's KPI page: both
from one read) over the whole cohort.

Databases are built by `bench.bulk` (use-case rows in every state, copied) as of T0; the KPIs
are read as of 30 days later, over every episode (day 0 from a year before T0 to T0), in UTC.
Each function is timed `--runs` times in a fresh session (median reported); then it runs once
more under tracemalloc for its peak Python allocation (driver buffers outside Python, such as
libpq's, are not counted). A flat peak from the small size to the large one means memory does
not grow with the cohort.

    .venv/bin/python -m bench.kpis              # 10k and 100k episodes, SQLite and PostgreSQL
    .venv/bin/python -m bench.kpis --quick      # 2k and 10k
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import tracemalloc
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bench import bulk
from bench.common import (
    base_parser,
    clone_database,
    median,
    run_each_backend,
)
from pathway.kpis import compute_kpis, kpis_with_trend, monthly_kpis
from pathway.store.db import make_sessionmaker, read_only

#: The KPIs are read a month after the data was made, over a year of day 0s.
NOW = bulk.T0 + dt.timedelta(days=30)
START = bulk.T0.date() - dt.timedelta(days=365)
END = bulk.T0.date()

Measured = Callable[[Session], object]

#: What is measured: the report and the monthly trend, both over the whole cohort.
FUNCTIONS: dict[str, Measured] = {
    "compute_kpis": lambda s: compute_kpis(s, start=START, end=END, now=NOW, zone=bulk.ZONE),
    "monthly_kpis": lambda s: monthly_kpis(s, start=START, end=END, now=NOW, zone=bulk.ZONE),
    # The dashboard's KPI page: both of the above from one read of the cohort.
    "kpis_with_trend": lambda s: kpis_with_trend(s, start=START, end=END, now=NOW,
                                                 zone=bulk.ZONE),
}


def timed(sessions: sessionmaker[Session], function: Measured) -> float:
    """Seconds for one call in a fresh read-only session."""
    with sessions() as session:
        read_only(session)
        t0 = time.perf_counter()
        function(session)
        return time.perf_counter() - t0


def peak_bytes(sessions: sessionmaker[Session], function: Measured) -> int:
    """Peak Python allocation during one call (tracemalloc), above what was held before."""
    with sessions() as session:
        read_only(session)
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            function(session)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peak - baseline


def measure(sessions: sessionmaker[Session], size: int, runs: int) -> None:
    """Time and peak memory of each function at one size."""
    for name, function in FUNCTIONS.items():
        times = [timed(sessions, function) for _ in range(runs)]
        peak = peak_bytes(sessions, function)
        print(f"  {size:>9,} episodes   {name}: median {median(times):7.3f} s "
              f"({median(times) / size * 1e6:6.1f} us/episode)   peak Python memory "
              f"{peak / 2**20:7.2f} MiB   runs: {', '.join(f'{t:.3f}' for t in times)}")


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    """Build a template once, then grow a copy of it to each size and measure there."""
    template = bulk.template_database(backend, "kpis_template", postgres_url)
    try:
        for size in args.sizes:
            database = clone_database(template, f"kpis{size}")
            try:
                engine = database.engine()
                bulk.grow(engine, size, log=lambda line: print(line, file=sys.stderr))
                measure(make_sessionmaker(engine), size, args.runs)
                engine.dispose()
            finally:
                database.drop()
    finally:
        template.drop()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "2000,10000", 1
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    headline = (f"workload 6: KPIs over the whole cohort at "
                f"{', '.join(f'{s:,}' for s in args.sizes)} episodes; {args.runs} run(s)")
    return run_each_backend(args, headline, run_backend)


if __name__ == "__main__":
    raise SystemExit(main())
