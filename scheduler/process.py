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
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from pathway.db import is_sqlite
from pathway.runtime import Runtime
from scheduler.delivery import DeliveryConfig
from scheduler.jobs import run_deliveries, run_reminders

log = logging.getLogger("pathway.scheduler")


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


def add_jobs(scheduler: BaseScheduler, runtime: Runtime,
             config: DeliveryConfig | None = None) -> DeliveryConfig:
    """Add the reminders and deliveries jobs, both due at once; returns the delivery config."""
    settings = runtime.settings
    config = config or DeliveryConfig.from_settings(settings)
    start = dt.datetime.now(dt.UTC)
    scheduler.add_job(run_reminders, "interval", seconds=settings.scan_interval_seconds,
                      args=[runtime], id="reminders", name="reminders", next_run_time=start)
    scheduler.add_job(run_deliveries, "interval", seconds=settings.deliver_interval_seconds,
                      args=[runtime, config, random.Random()], id="deliveries",
                      name="deliveries", next_run_time=start)
    log.info("scheduler %s: reminders every %ss, deliveries every %ss on %s", config.worker,
             settings.scan_interval_seconds, settings.deliver_interval_seconds,
             "+".join(config.channels))
    return config


def run_blocking(runtime: Runtime) -> None:
    """Run the jobs in the foreground until SIGTERM or Ctrl-C (`pathway scheduler`)."""
    scheduler = BlockingScheduler(**_options(runtime))
    add_jobs(scheduler, runtime)

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if scheduler.running:
            scheduler.shutdown(wait=True)


class EmbeddedScheduler:
    """The handle `pathway serve` keeps on the background scheduler."""

    def __init__(self, scheduler: BackgroundScheduler, config: DeliveryConfig) -> None:
        self._scheduler = scheduler
        self.config = config

    @property
    def running(self) -> bool:
        """Whether the jobs are still scheduled."""
        return bool(self._scheduler.running)

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let a running job finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)


def start_embedded(runtime: Runtime) -> EmbeddedScheduler:
    """Start the jobs on a background thread inside another process (`pathway serve`)."""
    scheduler = BackgroundScheduler(daemon=True, **_options(runtime))
    config = add_jobs(scheduler, runtime)
    scheduler.start()
    return EmbeddedScheduler(scheduler, config)
