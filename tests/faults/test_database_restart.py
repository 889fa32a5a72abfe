"""PostgreSQL stopped and started while clients send events and schedulers scan.

Runs on a cluster of its own (the shared test server is never restarted). During the outage
every request must get 503 with Retry-After (never a 500); the API and scheduler processes
must recover by themselves (same PIDs); afterwards every acknowledged write is in the log,
nothing unacknowledged is, and every reminder that fell due before, during and after the
outage is raised exactly once and announced once per subscription.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from pathway.clock import utc_now
from pathway.store.db import make_engine, make_sessionmaker
from pathway.store.models import Milestone, Reminder
from tests.faults.invariants import audit_database, check_acknowledged
from tests.faults.ledger import Entry
from tests.faults.processes import Cluster, Fleet, graceful, wait_for
from tests.faults.seed import force_due, seed
from tests.faults.sizes import sized
from tests.faults.workload import Tally, run_clients, stop_clients
from tests.scheduler.support import Receiver
from tests.support.databases import migrate

EPISODES = sized(36, 300)
CLIENTS = sized(4, 12)
LOAD_SECONDS = sized(2.5, 20.0)
OUTAGE_SECONDS = sized(3.0, 10.0)
RESTARTS = sized(1, 3)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _ready(url: str, key: str) -> bool:
    try:
        response = httpx.get(f"{url}/readyz", headers={"Authorization": f"Bearer {key}"},
                             timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _batches(ids: list[int], n: int) -> list[list[int]]:
    return [ids[i::n] for i in range(n)]


@pytest.mark.slow
def test_database_restart_under_load(cluster: Cluster, receiver: Receiver, tmp_path: Path,
                                     ledger: Entry) -> None:
    url = cluster.url()
    migrate(url)
    engine = make_engine(url)
    seeded = seed(engine, episodes=EPISODES, receiver_url=receiver.url)
    batches = _batches(seeded.episode_ids, 1 + 2 * RESTARTS)
    fleet = Fleet(url, tmp_path)
    forced: list[int] = []
    tally = Tally()
    try:
        fleet.start(apis=1, schedulers=2)
        pids = {p.name: p.pid for p in fleet.processes}
        clients, stop = run_clients(CLIENTS, urls=lambda: fleet.urls, key=seeded.key,
                                    episodes=seeded.episode_ids, tally=tally)
        try:
            time.sleep(LOAD_SECONDS)
            forced += force_due(engine, batches[0], utc_now())  # due before the outage
            for cycle in range(RESTARTS):
                # Falls due while the server is down: raised once it is back.
                forced += force_due(engine, batches[1 + 2 * cycle],
                                    utc_now() + dt.timedelta(seconds=1))
                engine.dispose()
                unavailable = tally.statuses[503]
                cluster.stop()
                time.sleep(OUTAGE_SECONDS)
                cluster.start()
                recovered = wait_for(lambda: _ready(fleet.urls[0], seeded.key), 60,
                                     "the API to reach the database again")
                ledger.note(f"outage {cycle + 1}: {OUTAGE_SECONDS:.0f}s down, "
                            f"{tally.statuses[503] - unavailable} requests got 503, API ready "
                            f"{recovered:.1f}s after the server came back")
                forced += force_due(engine, batches[2 + 2 * cycle], utc_now())  # after
                time.sleep(LOAD_SECONDS)
        finally:
            stop_clients(clients, stop)
        settled = utc_now()
        due = select(func.count()).select_from(Milestone).where(
            Milestone.next_alert_at.is_not(None), Milestone.next_alert_at <= settled)
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(due).scalar_one() == 0, 30,
                     "the schedulers to raise everything due")
        # Recovered by themselves: the very processes started before the outage.
        assert {p.name: p.pid for p in fleet.processes if p.alive} == pids, fleet.logs_text()
    finally:
        codes = fleet.stop_all()
    assert graceful(codes), (codes, fleet.logs_text())

    ledger.tried(tally.requests)
    assert tally.server_errors == [], tally.server_errors[:5]
    assert tally.statuses[500] == 0
    assert tally.statuses[503] > 0, "no request met the outage"
    assert tally.unavailable_without_retry_after == 0
    assert tally.unavailable_not_problem == 0
    assert tally.unresolved == []
    assert len(tally.acknowledged()) > 0
    with make_sessionmaker(engine)() as session:
        audit = audit_database(session, settled_at=settled)
        audit.assert_clean()
        problems = check_acknowledged(session, tally.outcomes, exact=True)
        assert problems == [], problems[:10]
        raised = dict(session.execute(
            select(Reminder.milestone_id, func.count()).where(
                Reminder.milestone_id.in_(forced),
                Reminder.kind == "liaison_monitoring_overdue").group_by(Reminder.milestone_id)
        ).all())
    assert len(forced) == EPISODES and raised == {m: 1 for m in forced}
    engine.dispose()
    ledger.check("acknowledged writes", len(tally.acknowledged()))
    ledger.check("forced-due reminders", len(forced))
    for what, n in audit.counts().items():
        ledger.check(what, n)
    ledger.note(f"{tally.requests} requests: " + ", ".join(
        f"{k}×{v}" for k, v in sorted(tally.statuses.items())) + (
        f"; transport errors {dict(tally.transport_errors)}" if tally.transport_errors else ""))
