"""Scheduler processes: APScheduler 3.x running the jobs of `scheduler.jobs`.

`run_blocking` is `pathway scheduler` (one or several processes, PostgreSQL); `start_embedded`
runs the same jobs on a background thread inside `pathway serve` (the SQLite set-up). Jobs
live in the memory job store only and are plain functions with arguments: nothing is pickled
and nothing is durable here, because the database is the schedule (a restarted process simply
scans again). Each job runs at most one instance at a time and fires once at start.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import signal
import sys
import time
from dataclasses import dataclass
from types import FrameType

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from pathway.logs import protect_root
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import is_sqlite
from scheduler.delivery import DeliveryConfig, http_client
from scheduler.jobs import run_deliveries, run_housekeeping, run_reminders, run_statistics

log = logging.getLogger("pathway.scheduler")
#: How often the database's planner statistics are refreshed (SQLite only, sampled: cheap).
STATISTICS_INTERVAL_HOURS = 24
#: Stored idempotency responses past their retention are deleted this often.
HOUSEKEEPING_INTERVAL_HOURS = 1
#: How often the main thread of `pathway scheduler` looks for its stop signal.
STOP_POLL_SECONDS = 0.2


def configure_logging(settings: Settings) -> None:
    """Log to stderr at the configured level, every value escaped; quiet the libraries that
    log every run."""
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    protect_root()  # every value escaped and bounded (pathway.logs)
    for noisy in ("apscheduler", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _options(runtime: Runtime) -> dict[str, object]:
    # SQLite has one writer at a time: run the jobs one after the other rather than have them
    # wait on each other's locks. On PostgreSQL a slow delivery must not hold up the scan.
    workers = 1 if is_sqlite(runtime.settings.database_url) else 2
    return {
        "jobstores": {"default": MemoryJobStore()},
        "executors": {"default": ThreadPoolExecutor(workers)},
        "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        "timezone": dt.UTC,
    }


@dataclass(frozen=True)
class Jobs:
    """What the jobs of one process share: its delivery config and its HTTP client."""

    config: DeliveryConfig
    client: httpx.Client


def add_jobs(scheduler: BaseScheduler, runtime: Runtime) -> Jobs:
    """Add the reminders, deliveries, statistics and housekeeping jobs, all due at once."""
    settings = runtime.settings
    jobs = Jobs(config=DeliveryConfig.from_settings(settings), client=http_client())
    start = dt.datetime.now(dt.UTC)
    scheduler.add_job(run_reminders, "interval", seconds=settings.scan_interval_seconds,
                      args=[runtime], id="reminders", name="reminders", next_run_time=start)
    scheduler.add_job(run_deliveries, "interval", seconds=settings.deliver_interval_seconds,
                      args=[runtime, jobs.config, random.Random(), jobs.client],
                      id="deliveries", name="deliveries", next_run_time=start)
    scheduler.add_job(run_statistics, "interval", hours=STATISTICS_INTERVAL_HOURS,
                      args=[runtime], id="statistics", name="statistics", next_run_time=start)
    scheduler.add_job(run_housekeeping, "interval", hours=HOUSEKEEPING_INTERVAL_HOURS,
                      args=[runtime], id="housekeeping", name="housekeeping",
                      next_run_time=start)
    log.info("scheduler %s: reminders every %ss, deliveries every %ss on %s",
             jobs.config.worker, settings.scan_interval_seconds,
             settings.deliver_interval_seconds, "+".join(jobs.config.channels))
    return jobs


def run_blocking(runtime: Runtime) -> None:
    """Run the jobs until SIGTERM or Ctrl-C (`pathway scheduler`), then let a running job
    finish. The jobs run on the scheduler's own threads; the main thread only waits for the
    signal, whose handler sets a flag and nothing else. (Raising from the handler instead, as
    this did before, could land inside APScheduler while it started a job's thread; it
    swallows the exception and the process carried on after SIGTERM.)"""
    scheduler = BackgroundScheduler(**_options(runtime))
    jobs = add_jobs(scheduler, runtime)
    stopping: list[int] = []  # a plain append is safe in a handler; taking a lock is not

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    scheduler.start()
    try:
        while not stopping:
            time.sleep(STOP_POLL_SECONDS)
    except KeyboardInterrupt:
        pass
    finally:
        log.info("scheduler stopping")
        signal.signal(signal.SIGTERM, previous)
        scheduler.shutdown(wait=True)
        jobs.client.close()


class EmbeddedScheduler:
    """The handle `pathway serve` keeps on the background scheduler."""

    def __init__(self, scheduler: BackgroundScheduler, jobs: Jobs) -> None:
        self._scheduler = scheduler
        self._jobs = jobs
        self.config = jobs.config

    @property
    def running(self) -> bool:
        """Whether the jobs are still scheduled."""
        return bool(self._scheduler.running)

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let a running job finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            self._jobs.client.close()


def start_embedded(runtime: Runtime) -> EmbeddedScheduler:
    """Start the jobs on a background thread inside another process (`pathway serve`)."""
    scheduler = BackgroundScheduler(daemon=True, **_options(runtime))
    jobs = add_jobs(scheduler, runtime)
    scheduler.start()
    return EmbeddedScheduler(scheduler, jobs)
