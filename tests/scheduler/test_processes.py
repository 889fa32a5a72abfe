"""Scheduler processes: several real `pathway scheduler` processes on PostgreSQL, killed and
restarted mid-run; jobs that survive a database outage; the embedded scheduler; the CLI."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pathway.episodes import open_episode
from pathway.store.models import (
    Delivery,
    DeliveryAttempt,
    IdempotencyRecord,
    Milestone,
    Reminder,
    ReminderAction,
)
from scheduler.delivery import DeliveryConfig
from scheduler.jobs import run_deliveries, run_housekeeping, run_reminders
from scheduler.process import start_embedded
from tests.builders import at, intake, open_at
from tests.scheduler.support import Clock, Receiver, make_runtime, subscribe
from tests.support.databases import TestDatabase, postgres_admin_url

ROOT = Path(__file__).resolve().parents[2]
EPISODES = 900  # 8,100 alerts, 9 scan batches of 1,000: more than 4 processes take at once
#: Plan, therapy, calcium and liaison reminders, and version 2's FLS assessment, DXA, falls,
#: therapy recommendation and strength and balance: all due by day 120.
PER_EPISODE = 9


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    stop = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > stop:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def count(db: TestDatabase, query: object) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


LIGHT = ("-m", "scheduler")  # the scheduler alone
CLI = ("-m", "pathway_cli", "scheduler")  # `pathway scheduler`: the same, via the CLI


class Fleet:
    """Scheduler processes in their own OS processes."""

    def __init__(self, db: TestDatabase, logs: Path) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "PATHWAY_DATABASE_URL": db.url,
                    "PATHWAY_SCAN_INTERVAL_SECONDS": "1", "PATHWAY_DELIVER_INTERVAL_SECONDS": "1",
                    "PATHWAY_DELIVERY_LEASE_SECONDS": "3",
                    "PATHWAY_DELIVERY_BACKOFF_SECONDS": "0.2",
                    "PATHWAY_DELIVERY_MAX_ATTEMPTS": "100", "PATHWAY_LOG_LEVEL": "INFO",
                    "PATHWAY_SMTP_HOST": ""}
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.paths: list[Path] = []

    def start(self, n: int, command: tuple[str, ...] = LIGHT) -> None:
        for _ in range(n):
            path = self.logs / f"scheduler-{len(self.procs)}.log"
            with path.open("wb") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, *command], cwd=ROOT, env=self.env,
                    stdout=log, stderr=subprocess.STDOUT))
            self.paths.append(path)

    def started(self) -> int:
        """How many processes have logged that their scheduler is running."""
        return sum("reminders every" in path.read_text() for path in self.paths)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            wait_for(condition, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; crashed processes: {self.crashed()}") from None

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def kill(self, n: int) -> None:
        for proc in self.alive()[:n]:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def crashed(self) -> str:
        """The log tails of processes that exited on their own (not killed by the test)."""
        return "\n".join(f"{path.name}: {path.read_text()[-1500:]}"
                         for proc, path in zip(self.procs, self.paths, strict=True)
                         if proc.poll() not in (None, -signal.SIGKILL))

    def stop(self) -> list[int]:
        """SIGTERM the live ones once they are running; returns their exit codes."""
        # A SIGTERM that lands while a process is still importing ends it before its handler
        # exists (exit -15): that is the OS, not the scheduler, so let them start first.
        logs = dict(zip(map(id, self.procs), self.paths, strict=True))
        with contextlib.suppress(AssertionError):
            wait_for(lambda: all("reminders every" in logs[id(p)].read_text()
                                 for p in self.alive()), 30, "processes started")
        live = self.alive()
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in live:
            try:
                codes.append(proc.wait(timeout=15))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(-9)
        return codes


def seed_due_episodes(db: TestDatabase, url: str) -> None:
    """Episodes identified 120 days ago (opened then), so the real clock finds all 9 due."""
    day0 = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=120)
    opened = dt.datetime.combine(day0, dt.time(9), tzinfo=dt.UTC)
    with db.sessions() as session:
        subscribe(session, url)
        for _ in range(EPISODES):
            open_episode(session, intake=intake(identified_on=day0.isoformat()), actor="test",
                         now=opened, zone=ZoneInfo("UTC"))
        session.commit()


@pytest.mark.slow
def test_several_processes_raise_once_and_deliver_at_least_once_through_kills(
    pg_db: TestDatabase, receiver: Receiver, tmp_path: Path,
) -> None:
    seed_due_episodes(pg_db, receiver.url)
    expected = EPISODES * PER_EPISODE
    receiver.fail_every = 50  # a flaky receiver too: some deliveries need a retry
    reminders = select(func.count()).select_from(Reminder)
    delivered = select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
    fleet = Fleet(pg_db, tmp_path)
    try:
        fleet.start(4)
        fleet.wait_for(lambda: fleet.started() == 4 and count(pg_db, reminders) > 0, 60,
                       "four processes scanning")
        fleet.kill(2)  # SIGKILL mid-scan
        at_scan_kill = count(pg_db, reminders)
        fleet.start(2)
        fleet.wait_for(lambda: count(pg_db, delivered) > expected // 4, 60,
                       "deliveries under way")
        fleet.kill(1)  # SIGKILL mid-delivery, holding leases
        at_delivery_kill = count(pg_db, delivered)
        fleet.start(1, CLI)
        fleet.wait_for(lambda: count(pg_db, delivered) == expected, 60, "every delivery")
    finally:
        crashed = fleet.crashed()
        codes = fleet.stop()
    assert crashed == ""
    assert codes == [0, 0, 0, 0]  # the survivors stop cleanly on SIGTERM
    assert 0 < at_scan_kill < expected and at_delivery_kill < expected  # the kills hit mid-run

    # Raised exactly once: one reminder and one "raised" action per due alert.
    assert count(pg_db, reminders) == expected
    assert count(pg_db, select(func.count()).select_from(ReminderAction).where(
        ReminderAction.action == "raised")) == expected
    assert count(pg_db, select(func.count()).select_from(Milestone).where(
        Milestone.next_alert_at.is_not(None), Milestone.next_alert_at <= func.now())) == 0
    # Delivered at least once; the receiver, deduplicating by webhook-id, saw each once.
    with pg_db.sessions() as session:
        keys = set(session.scalars(select(Delivery.delivery_key)))
        workers = {d.rsplit("[", 1)[-1] for d in session.scalars(
            select(DeliveryAttempt.detail).where(DeliveryAttempt.ok.is_(True)))}
    assert len(keys) == expected and set(receiver.hits) == keys
    assert sorted(b["reminder"]["id"] for b in receiver.unique.values()) == sorted(
        set(b["reminder"]["id"] for b in receiver.unique.values()))
    assert sum(receiver.hits.values()) >= expected and receiver.bad_signatures == 0
    assert len(workers) >= 2  # the work was shared (how evenly depends on the load)


def test_jobs_survive_a_database_outage(
    pg_db: TestDatabase, caplog: pytest.LogCaptureFixture,
) -> None:
    with pg_db.sessions() as session:
        open_at(session)
        session.commit()
    runtime = make_runtime(pg_db, Clock(at(20, 0)))
    config = DeliveryConfig.from_settings(runtime.settings, worker="w")
    name = make_url(pg_db.url).database
    admin_url = postgres_admin_url()
    assert admin_url is not None
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name"), {"name": name})
        with caplog.at_level(logging.WARNING, logger="pathway.scheduler"):
            assert run_reminders(runtime) is None
            assert run_deliveries(runtime, config, random.Random(1)) is None
            assert run_housekeeping(runtime) is None
        assert "reminders failed: OperationalError" in caplog.text
        assert "housekeeping failed: OperationalError" in caplog.text
        assert "retrying next tick" in caplog.text
        assert "MRN" not in caplog.text
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        admin.dispose()
    tick = run_reminders(runtime)
    assert tick is not None and tick.scan.raised == 3


def test_the_embedded_scheduler_runs_the_jobs_and_shuts_down(
    sqlite_db: TestDatabase, receiver: Receiver,
) -> None:
    with sqlite_db.sessions() as session:
        subscribe(session, receiver.url)
        open_at(session)
        session.add(IdempotencyRecord(  # two days old: past its retention
            actor="key:x", key="old", method="POST", path="/v1/episodes", body_hash="0" * 64,
            status_code=201, response_headers={}, response_body="{}",
            created_at=at(18, 0)))
        session.commit()
    runtime = make_runtime(sqlite_db, Clock(at(20, 0)), scan_interval_seconds=1,
                           deliver_interval_seconds=1)
    handle = start_embedded(runtime)

    def purged() -> bool:
        with sqlite_db.sessions() as session:
            return session.get(IdempotencyRecord, ("key:x", "old")) is None

    try:
        wait_for(lambda: len(receiver.unique) == 3, 10, "the embedded jobs")
        wait_for(purged, 10, "the housekeeping job")
    finally:
        handle.shutdown()
    assert not handle.running
    assert {b["reminder"]["kind"] for b in receiver.unique.values()} == {
        "plan_overdue", "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"}


def test_pathway_scan_and_deliver_commands(sqlite_db: TestDatabase, receiver: Receiver) -> None:
    with sqlite_db.sessions() as session:
        subscribe(session, receiver.url)
        open_at(session)
        session.commit()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATHWAY_DATABASE_URL": sqlite_db.url}

    def pathway(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pathway_cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "raised=1 " in pathway("scan", "--as-of", "2026-03-05T00:00:00")
    out = pathway("scan", "--as-of", "2026-03-25T00:00:00")
    assert "raised=2 " in out and "escalated=1" in out  # plan_overdue escalated on day 10
    assert "delivered=4" in pathway("deliver", "--as-of", "2026-03-25T00:00:01")
    assert len(receiver.unique) == 4
