"""Workload 4, the worklist at scale: server time of the dashboard's home page (open episodes,
most pressing first, with a total, counts, filters and search), the episode page and the
reminders page at 100,000 episodes.

The database is built by `bench.bulk` (use-case rows in every state, copied). A coordinator
logs in through the login form; then each page is requested `--requests` times in-process
(Starlette's TestClient: the whole server path, routing, session, queries and template, without
a network), and the p50 and p95 of the time to the full response are reported: with the
default settings (the summary counts are kept 10 s per process, so most timed requests reuse
them) and with `worklist_counts_seconds=0` (counted on every request).

    .venv/bin/python -m bench.worklist           # 100,000 episodes, SQLite and PostgreSQL
    .venv/bin/python -m bench.worklist --quick   # 10,000 episodes
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from fastapi.testclient import TestClient

from api.app import create_app
from bench import bulk
from bench.common import (
    base_parser,
    fresh_database,
    median,
    ms,
    percentile,
    run_each_backend,
)
from pathway import access
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction

PASSWORD = "bench-worklist-password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

#: (label, path): the worklist's first page (most pressing first), its filtered views and
#: search, its second page, then the episode page and the reminders page.
PAGES = (
    ("first page", "/"),
    ("state = conservative_care", "/?state=conservative_care"),
    ("reminder kind filter", "/?kind=osteoporosis_therapy_overdue"),
    ("priority = urgent", "/?priority=urgent"),
    ("mine, overdue only", "/?mine=1&overdue=1"),
    ("assigned to me", "/?assigned=alex"),
    ("search: name contains", "/?q=patient%2012"),
    ("search: MRN contains", "/?q=0042"),
    ("second page (cursor)", None),
    ("episode page", "/episodes/1"),
    ("reminders page", "/reminders"),
)


def logged_in(runtime: Runtime, *, create: bool = True) -> TestClient:
    """A client with a coordinator's session (the template's coordinators include alex)."""
    if create:
        with transaction(runtime.sessions) as session:
            access.create_user(session, username="alex", password=PASSWORD,
                               role="coordinator", now=bulk.T0)
    client = TestClient(create_app(runtime))
    page = client.get("/login")
    found = TOKEN.search(page.text)
    assert found, "no CSRF token on the login page"
    response = client.post("/login", data={"username": "alex", "password": PASSWORD,
                                           "csrf_token": found.group(1), "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.status_code
    return client


def time_page(client: TestClient, path: str, requests: int) -> list[float]:
    """Seconds per request for one page (after one warm-up request)."""
    assert client.get(path).status_code == 200
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return times


def next_page(client: TestClient) -> str:
    """The worklist's link to its second page."""
    found = re.search(r'href="(/\?[^"]*after=[^"]+)"', client.get("/").text)
    assert found, "the first page has no link to a next page"
    return found.group(1).replace("&amp;", "&")


#: (label, worklist_counts_seconds): the default (summary counts kept 10 s per process, so
#: most timed requests reuse them) and counts taken on every request.
COUNTS = (("counts kept 10 s (default)", 10.0), ("counts on every request", 0.0))


def run_backend(backend: str, args: argparse.Namespace, postgres_url: str | None) -> None:
    database = fresh_database(backend, "worklist", postgres_url)
    try:
        built = False
        for variant, seconds in COUNTS:
            runtime = Runtime.from_settings(Settings(database_url=database.url,
                                                     worklist_counts_seconds=seconds))
            runtime.clock = lambda: bulk.T0
            if not built:
                bulk.build(runtime.engine, args.episodes,
                           log=lambda line: print(line, file=sys.stderr))
                built = True
            client = logged_in(runtime, create=seconds == COUNTS[0][1])
            print(f"  {variant}:")
            for label, path in PAGES:
                times = time_page(client, path or next_page(client), args.requests)
                print(f"    {label:<28} p50 {ms(median(times)):>7} ms   p95 "
                      f"{ms(percentile(times, 95)):>7} ms")
            runtime.engine.dispose()
    finally:
        database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.requests = 10_000, 20
    headline = (f"workload 4: worklist pages at {args.episodes:,} episodes, "
                f"{args.requests} requests each, server time in-process")
    return run_each_backend(args, headline, run_backend)


if __name__ == "__main__":
    raise SystemExit(main())
