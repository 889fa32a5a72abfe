"""API and scheduler processes SIGKILLed at random moments and started again, under load.

Clients retry a write with the same Idempotency-Key on any live API process until it gets a
definitive answer, so afterwards the log must hold exactly the acknowledged writes. Whatever
moment a process died at, no event is half-applied (state, version, log, milestones agree),
no reminder is lost or raised twice, and each raised reminder is in the outbox once per
subscription.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pathway.clock import utc_now
from pathway.store.db import make_sessionmaker
from pathway.store.models import Milestone, Reminder
from tests.faults.invariants import audit_database, check_acknowledged
from tests.faults.ledger import Entry
from tests.faults.processes import Fleet, Process, graceful, wait_for
from tests.faults.seed import force_due, seed
from tests.faults.sizes import sized
from tests.faults.workload import Tally, run_clients, stop_clients
from tests.scheduler.support import Receiver
from tests.support.databases import TestDatabase

EPISODES = sized(48, 400)
CLIENTS = sized(4, 12)
DURATION = sized(10.0, 150.0)
MIN_KILLS = sized({"api": 2, "scheduler": 3}, {"api": 15, "scheduler": 30})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _enough(kills: Counter[str], elapsed: float) -> bool:
    """At least DURATION seconds and the minimum kills of each kind (within a hard cap)."""
    if elapsed > 6 * DURATION:
        raise AssertionError(f"only {dict(kills)} kills in {elapsed:.0f}s")
    return elapsed >= DURATION and all(kills[k] >= n for k, n in MIN_KILLS.items())


def _killable(fleet: Fleet) -> list[Process]:
    """Processes worth killing now: a scheduler that has had time to start its jobs, an API
    that answers while another one does too (the clients always have somewhere to go)."""
    answering = [p for p in fleet.apis if p.answers()]
    apis = answering if len(answering) > 1 else []
    schedulers = [p for p in fleet.schedulers if p.answers()]
    return apis + schedulers


@pytest.mark.slow
def test_processes_killed_at_random_moments(pg_db: TestDatabase, receiver: Receiver,
                                            tmp_path: Path, ledger: Entry) -> None:
    engine = pg_db.engine
    seeded = seed(engine, episodes=EPISODES, receiver_url=receiver.url)
    rng = random.Random(20260302)
    batches = [seeded.episode_ids[i::8] for i in range(8)]
    fleet = Fleet(pg_db.url, tmp_path)
    tally = Tally()
    kills: Counter[str] = Counter()
    forced: list[int] = []
    try:
        fleet.start(apis=2, schedulers=2)

        def live_urls() -> list[str]:
            return [p.url for p in fleet.apis if p.alive] or fleet.urls

        clients, stop = run_clients(CLIENTS, urls=live_urls, key=seeded.key,
                                    episodes=seeded.episode_ids, tally=tally, seed=7)
        try:
            started = time.monotonic()
            while not _enough(kills, time.monotonic() - started):
                time.sleep(rng.uniform(0.2, 1.0))
                if batches:  # due now: the schedulers are scanning when the axe falls
                    forced += force_due(engine, batches.pop(), utc_now())
                candidates = _killable(fleet)
                if not candidates:
                    continue
                victim = rng.choice(candidates)
                victim.kill()
                kills[victim.kind] += 1
                time.sleep(rng.uniform(0.0, 0.5))
                victim.start()  # not waiting: the load and the other processes go on
            elapsed = time.monotonic() - started
            for proc in fleet.processes:
                proc.ready()
            for batch in batches:
                forced += force_due(engine, batch, utc_now())
        finally:
            stop_clients(clients, stop)
        settled = utc_now()
        due = select(func.count()).select_from(Milestone).where(
            Milestone.next_alert_at.is_not(None), Milestone.next_alert_at <= settled)
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(due).scalar_one() == 0, 30,
                     "the schedulers to raise everything due")
    finally:
        codes = fleet.stop_all()
    assert graceful(codes), (codes, fleet.logs_text())

    ledger.tried(tally.requests)
    ledger.tried(sum(kills.values()))
    assert kills["api"] > 0 and kills["scheduler"] > 0, kills
    assert tally.server_errors == [], tally.server_errors[:5]
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
    replays = sum(o.replayed for o in tally.outcomes)
    cut = sum(tally.transport_errors.values())
    ledger.check("acknowledged writes", len(tally.acknowledged()))
    ledger.check("forced-due reminders", len(forced))
    for what, n in audit.counts().items():
        ledger.check(what, n)
    ledger.note(f"{kills['api']} API and {kills['scheduler']} scheduler SIGKILLs in "
                f"{elapsed:.0f}s; {tally.requests} requests, {cut} cut off or refused, "
                f"{replays} writes answered by an idempotent replay")
