"""Workload 5, memory: resident memory of the scheduler and the API processes at 10,000 and
1,000,000 episodes (target: flat, not growing with the episode count).

For each size a database is built by `bench.bulk` as of the wall clock (so nothing is due when
the processes start), then `--due` milestones are made due so the scheduler has batches to raise.
Two real processes run against it: `pathway scheduler` (scan and delivery every second) and
`pathway serve --no-scheduler`, which gets a mix of requests (episode pages, single episodes,
event logs, KPIs and events). After `--seconds` of this, each process's resident set (VmRSS)
and its peak (VmHWM) are read from /proc.

    .venv/bin/python -m bench.memory            # 10k and 1M episodes, SQLite and PostgreSQL
    .venv/bin/python -m bench.memory --quick    # 2k and 20k
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench import bulk
from bench.api import free_port
from bench.common import (
    BenchDatabase,
    base_parser,
    fresh_database,
    run_each_backend,
)
from bench.scan import mark_due
from pathway import access
from pathway.clock import utc_now
from pathway.store.db import make_engine, make_sessionmaker, transaction


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def start(args: list[str], url: str, port: int | None = None) -> subprocess.Popen[bytes]:
    """A `pathway` subprocess on the bench database, scheduler intervals of one second."""
    env = {**os.environ, "PATHWAY_DATABASE_URL": url, "PATHWAY_SCAN_INTERVAL_SECONDS": "1",
           "PATHWAY_DELIVER_INTERVAL_SECONDS": "1", "PATHWAY_LOG_LEVEL": "WARNING"}
    if port is not None:
        env["PATHWAY_PORT"] = str(port)
    return subprocess.Popen([sys.executable, "-m", "pathway_cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def api_key(url: str) -> str:
    """An admin API key (it may read KPIs and send events)."""
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        _, raw = access.create_api_key(session, name="memory", role="admin", now=utc_now())
    engine.dispose()
    return raw


def call(port: int, key: str, path: str, body: dict[str, object] | None = None) -> int:
    """One request; returns the status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def exercise(port: int, key: str, episodes: int, seconds: float) -> int:
    """Requests of several kinds for `seconds`; returns how many were answered."""
    rng = random.Random(5)
    today = utc_now().date()
    paths: list[Callable[[], str]] = [
        lambda: "/v1/episodes?limit=100",
        lambda: "/v1/episodes?limit=50&state=conservative_care",
        lambda: f"/v1/episodes/{rng.randint(1, episodes)}",
        lambda: f"/v1/episodes/{rng.randint(1, episodes)}/events",
        lambda: f"/v1/kpis?from={today - dt.timedelta(days=30)}&to={today}",
    ]
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        call(port, key, rng.choice(paths)())
        call(port, key, f"/v1/episodes/{rng.randint(1, episodes)}/events",
             {"event": "record_contact", "data": {"kind": "liaison_monitoring"}})
        done += 2
    return done


def wait_ready(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the API did not start")


def measure(database: BenchDatabase, episodes: int, args: argparse.Namespace) -> None:
    """Run both processes on a built database and print their memory."""
    key = api_key(database.url)
    port = free_port()
    scheduler = start(["scheduler"], database.url)
    server = start(["serve", "--no-scheduler"], database.url, port)
    try:
        wait_ready(port)
        answered = exercise(port, key, episodes, args.seconds)
        rss = {"scheduler": rss_kib(scheduler.pid), "api": rss_kib(server.pid)}
    finally:
        for process in (scheduler, server):
            process.terminate()
            process.wait(timeout=30)
    print(f"  {episodes:>9,} episodes   scheduler RSS {rss['scheduler'][0] / 1024:6.1f} MiB "
          f"(peak {rss['scheduler'][1] / 1024:6.1f})   API RSS {rss['api'][0] / 1024:6.1f} MiB "
          f"(peak {rss['api'][1] / 1024:6.1f}) after {answered} requests")


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    for size in args.sizes:
        database = fresh_database(backend, f"memory{size}", postgres_url)
        try:
            engine = database.engine()
            now = utc_now() - dt.timedelta(hours=2)
            bulk.build(engine, size, now=now, log=lambda line: print(line, file=sys.stderr))
            mark_due(engine, 1, args.due, at=now)
            engine.dispose()
            measure(database, size, args)
        finally:
            database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.due, args.seconds = "2000,20000", 1_000, 10.0
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    headline = (f"workload 5: resident memory after {args.seconds:.0f} s of work at "
                f"{', '.join(f'{s:,}' for s in args.sizes)} episodes")
    return run_each_backend(args, headline, run_backend)


if __name__ == "__main__":
    raise SystemExit(main())
