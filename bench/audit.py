"""The access audit's cost: reads of one episode (`GET /v1/episodes/{id}`) through the whole
app, each written to the access log in a short transaction of its own, against the same reads
with the audit write left out (the yardstick, in the same run, alternating).

In process, through the ASGI app (Starlette's TestClient: no sockets, one request at a time),
so the figure is the app's own time per read, not a network's. The yardstick replaces the
route's `audit` call with a no-op in this process only: the product has no switch for it.

    .venv/bin/python -m bench.audit            # 2,000 reads per run, 3 runs
    .venv/bin/python -m bench.audit --quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.routes import episodes as episode_routes
from bench.common import base_parser, fresh_database, median, run_each_backend
from bench.transitions import DAY0, intake
from pathway import access
from pathway.episodes import open_episode
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import make_sessionmaker, transaction
from pathway.store.models import AccessRecord

EPISODES = 200
NOW = dt.datetime.combine(DAY0 + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)


@contextmanager
def unaudited() -> Iterator[None]:
    """The yardstick: the episode route without its access-log write."""
    real = episode_routes.audit
    episode_routes.audit = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        episode_routes.audit = real


def _reads(client: TestClient, ids: list[int], count: int, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    for i in range(count):
        response = client.get(f"/v1/episodes/{ids[i % len(ids)]}", headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"read failed: {response.status_code} {response.text}")
    return count / (time.perf_counter() - start)


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    reads = 300 if args.quick else args.reads
    runs = 1 if args.quick else args.runs
    db = fresh_database(backend, "audit", postgres_url)
    try:
        engine = db.engine()
        sessions = make_sessionmaker(engine)
        zone = ZoneInfo("UTC")
        with transaction(sessions) as session:
            ids = [open_episode(session, intake=intake(i, "AUD"), actor="bench", now=NOW,
                                zone=zone).id for i in range(EPISODES)]
            _key, raw = access.create_api_key(session, name="bench-reader", role="coordinator",
                                              now=NOW, expires_in_days=0)
        runtime = Runtime(settings=Settings(database_url=db.url), engine=engine,
                          sessions=sessions, clock=lambda: NOW)
        headers = {"Authorization": f"Bearer {raw}"}
        audited: list[float] = []
        bare: list[float] = []
        with TestClient(create_app(runtime)) as client:
            _reads(client, ids, 100, headers)  # warm up both paths
            with unaudited():
                _reads(client, ids, 100, headers)
            for _ in range(runs):
                with unaudited():
                    bare.append(_reads(client, ids, reads, headers))
                audited.append(_reads(client, ids, reads, headers))
        with sessions() as session:
            logged = session.scalar(select(func.count()).select_from(AccessRecord))
        a, b = median(audited), median(bare)
        print(f"  reads without the audit write: {b:,.0f}/s "
              f"(runs {', '.join(f'{x:,.0f}' for x in bare)})")
        print(f"  reads with the audit write:    {a:,.0f}/s "
              f"(runs {', '.join(f'{x:,.0f}' for x in audited)})")
        print(f"  audited reads reach {a / b:.0%} of the unaudited rate; "
              f"{(1 / a - 1 / b) * 1e3:.2f} ms more per read; {logged:,} reads logged")
        engine.dispose()
    finally:
        db.drop()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args(argv)
    return run_each_backend(args, "access audit: GET /v1/episodes/{id}, in process",
                            run_backend)


if __name__ == "__main__":
    sys.exit(main())
