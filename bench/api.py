"""Workload 3, transitions through the API: events per second over HTTP with concurrent clients,
against the bare route (`bench.bare_api`) serving the same statements, in the same run.

Each server is one uvicorn process (no scheduler); the driver is a small asyncio HTTP/1.1
keep-alive client in another process, `--clients` connections, each taking episodes in turn
through the four events of workload 2 (conservative care, reassessment, imaging, therapy),
one request at a time. Runs alternate bare and pathway on fresh slices of pre-opened episodes;
medians over runs. Each server counts the SQL statements it sends, so the report shows that
both did the same database work per request.

    .venv/bin/python -m bench.api            # 1,000 episodes (4,000 requests) per run, 3 runs
    .venv/bin/python -m bench.api --quick
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import uvicorn
from fastapi import FastAPI
from sqlalchemy import event
from starlette.concurrency import run_in_threadpool

from api.app import create_app
from bench.bare_api import create_bare_app
from bench.common import (
    base_parser,
    fresh_database,
    median,
    ms,
    percentile,
    run_each_backend,
)
from bench.transitions import DAY0, STEPS, intake
from pathway import access
from pathway.clock import utc_now
from pathway.episodes import open_episode
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import make_engine, make_sessionmaker, transaction

ZONE_NAME = "UTC"


def clock() -> dt.datetime:
    """Every request happens on day 1, recorded as of that day: nothing is overdue yet, so
    both servers do transition work only (reminders are workload 1's business)."""
    return dt.datetime.combine(DAY0 + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)


def serve(mode: str, url: str, port: int) -> None:
    """Run one server until killed: the pathway app or the bare one."""
    app: FastAPI
    counter = {"statements": 0}
    if mode == "pathway":
        runtime = Runtime.from_settings(Settings(database_url=url, site_timezone=ZONE_NAME))
        runtime.clock = clock
        engine = runtime.engine
        app = create_app(runtime)
    else:
        engine = make_engine(url)
        app = create_bare_app(engine, clock)

    def count(*_args: Any) -> None:
        counter["statements"] += 1

    event.listen(engine, "before_cursor_execute", count)

    @app.get("/bench/statements")
    def statements() -> dict[str, int]:
        return counter

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server subprocess (`python -m bench.api --serve MODE URL PORT`)."""

    def __init__(self, mode: str, url: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.api", "--serve", mode, url, str(self.port)],
            env={**os.environ, "PYTHONPATH": os.getcwd()})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.statements()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the {mode} server did not start")

    def statements(self) -> int:
        """SQL statements the server has sent so far."""
        status, body = asyncio.run(_one_get(self.port, "/bench/statements"))
        if status != 200:
            raise OSError(f"status {status}")
        return int(json.loads(body)["statements"])

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _one_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    await writer.drain()
    try:
        return await _read_response(reader)
    finally:
        writer.close()


@dataclass
class Load:
    """One load run: wall time, per-request latencies, failures."""

    wall: float
    latencies: list[float]
    failures: int
    #: The server's own CPU seconds over the run (steadier than wall time on a shared box).
    server_cpu: float = 0.0


async def _client(port: int, key: str, episodes: list[int], latencies: list[float],
                  failures: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for episode_id in episodes:
            for name, _day, data in STEPS:
                body = json.dumps({"event": name, "data": data}).encode()
                request = (f"POST /v1/episodes/{episode_id}/events HTTP/1.1\r\nHost: bench\r\n"
                           f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status, _ = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    failures.append(status)
    finally:
        writer.close()


def drive(port: int, key: str, episodes: list[int], clients: int) -> Load:
    """Send every episode's four events with `clients` concurrent connections."""
    latencies: list[float] = []
    failures: list[int] = []
    shares = [episodes[i::clients] for i in range(clients)]

    async def run() -> None:
        await asyncio.gather(*(_client(port, key, share, latencies, failures)
                               for share in shares if share))

    started = time.perf_counter()
    asyncio.run(run())
    return Load(time.perf_counter() - started, latencies, len(failures))


def prepare(url: str, episodes: int) -> tuple[str, list[int]]:
    """An integration API key and `episodes` episodes opened on day 0."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    opened = dt.datetime.combine(DAY0, dt.time(9), tzinfo=dt.UTC)
    with transaction(factory) as session:
        _, raw = access.create_api_key(session, name="bench", role="integration", now=utc_now())
    ids: list[int] = []
    for first in range(0, episodes, 500):
        with transaction(factory) as session:
            ids.extend(open_episode(session, intake=intake(i, "A"), actor="bench", now=opened,
                                    zone=ZoneInfo(ZONE_NAME)).id
                       for i in range(first, min(first + 500, episodes)))
    engine.dispose()
    return raw, ids


def thread_hop_cost(hops: int = 5000) -> tuple[float, float]:
    """(wall, CPU) seconds of one hop of a no-op to a worker thread and back, as FastAPI makes
    for every plain `def` dependency and endpoint (`run_in_threadpool`), in this process."""

    def nothing() -> None:
        return None

    async def hop() -> tuple[float, float]:
        for _ in range(200):  # the thread pool started
            await run_in_threadpool(nothing)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(hops):
            await run_in_threadpool(nothing)
        return (time.perf_counter() - wall) / hops, (time.process_time() - cpu) / hops

    return anyio.run(hop)


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    database = fresh_database(backend, "api", postgres_url)
    try:
        per_run = args.episodes
        key, ids = prepare(database.url, per_run * args.runs * 2)
        loads: dict[str, list[Load]] = {"bare": [], "pathway": []}
        statements: dict[str, float] = {}
        slices = iter(ids[i:i + per_run] for i in range(0, len(ids), per_run))
        for _ in range(args.runs):
            for mode in ("bare", "pathway"):
                server = Server(mode, database.url)
                try:
                    before = server.statements()
                    cpu = server.cpu_seconds()
                    load = drive(server.port, key, next(slices), args.clients)
                    load.server_cpu = server.cpu_seconds() - cpu
                    loads[mode].append(load)
                    statements[mode] = (server.statements() - before) / (per_run * len(STEPS))
                finally:
                    server.stop()
        report(loads, statements, per_run * len(STEPS), args.clients)
    finally:
        database.drop()


def report(loads: dict[str, list[Load]], statements: dict[str, float], requests: int,
           clients: int) -> None:
    rates = {mode: median([requests / load.wall for load in runs]) for mode, runs in loads.items()}
    for mode, runs in loads.items():
        lat = [x for load in runs for x in load.latencies]
        failures = sum(load.failures for load in runs)
        print(f"  {mode:<8} {rates[mode]:>7,.0f} events/s   p50 {ms(percentile(lat, 50))} ms  "
              f"p95 {ms(percentile(lat, 95))} ms  p99 {ms(percentile(lat, 99))} ms   "
              f"{statements[mode]:.1f} statements/request   failures {failures}   runs: "
              f"{', '.join(f'{requests / load.wall:,.0f}' for load in runs)}")
    cpu = {mode: median([load.server_cpu / requests for load in runs])
           for mode, runs in loads.items()}
    overhead = rates["bare"] / rates["pathway"] - 1
    print(f"  server CPU per event: bare {ms(cpu['bare'])} ms, pathway {ms(cpu['pathway'])} ms "
          f"({cpu['pathway'] / cpu['bare'] - 1:+.0%})")
    print(f"  pathway code costs {overhead:+.0%} on top of the bare route "
          f"(time per event, {clients} clients)")
    wall, cpu = thread_hop_cost()
    print(f"  one hop to a worker thread and back (no work): {wall * 1e6:.0f} us wall, "
          f"{cpu * 1e6:.0f} us CPU")


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = base_parser(__doc__ or "")
    parser.add_argument("--episodes", type=int, default=1000, help="episodes per run")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.runs = 150, 1
    headline = (f"workload 3: {args.episodes * len(STEPS):,} events per run over HTTP, "
                f"{args.clients} clients, {args.runs} run(s) per server")
    return run_each_backend(args, headline, run_backend)


if __name__ == "__main__":
    raise SystemExit(main())
