"""The scheduler's jobs: plain functions of a `Runtime`, each owning its transactions.

- `reminders_tick`: wake snoozed reminders whose date has come, raise the reminders whose
  milestones fell due (one indexed query per batch, committed per batch so several processes
  share the work and a crash loses at most one batch), then escalate the unattended ones.
- `deliveries_tick`: deliver the outbox until nothing is due.
- `purge_idempotency`: delete stored `Idempotency-Key` responses past their retention (hourly).
- `purge_sessions`: delete dashboard sessions ended or expired a day ago, and failed logins
  the throttle no longer counts (hourly, with the above).

`run_*` wrap them for APScheduler: they log counts (never patient data) and swallow every
error, so a database outage costs a tick, not the process; the next tick retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pathway import throttle
from pathway.escalation import EscalationResult, escalate_due, wake_snoozed
from pathway.reminders import ScanResult
from pathway.runtime import Runtime
from pathway.scan import raise_due_in_bulk
from pathway.sessions import purge_old_sessions
from pathway.store.db import refresh_statistics, transaction
from pathway.store.retention import PURGE_BATCH, purge_idempotency_records
from pathway.throttle import ThrottlePolicy
from scheduler.delivery import DeliveryConfig, RoundResult, deliver_until_idle

log = logging.getLogger("pathway.scheduler")
#: Ended and expired sessions are kept this long (an admin looking into a logout sees it).
SESSION_KEEP = dt.timedelta(days=1)

#: Milestones claimed (and committed) per scan batch, by database. SQLite has one writer at a
#: time, so bigger batches only save per-batch work (100,000 due: 1.34x the bare SQL at 5,000
#: against 1.60x at 1,000); PostgreSQL processes share batches, so smaller ones spread better
#: (4 processes: 0.56x at 1,000 against 1.00x at 5,000). BENCHMARKS.md, workload 1.
SCAN_BATCH = {"sqlite": 5000, "postgresql": 1000}
#: Reminders woken or escalated per batch.
REMINDER_BATCH = 200


@dataclass(frozen=True)
class ReminderTick:
    """What one reminders tick did."""

    woke: int
    scan: ScanResult
    escalation: EscalationResult


def scan(runtime: Runtime, *, now: dt.datetime | None = None,
         batch: int | None = None) -> ScanResult:
    """Raise every reminder due at `now` (default: the runtime's clock), committing per batch
    (default size: `SCAN_BATCH` of the database)."""
    at = now or runtime.now()
    batch = batch or SCAN_BATCH.get(runtime.engine.dialect.name, 1000)
    examined = raised = duplicates = 0
    while True:
        with transaction(runtime.sessions) as session:
            step = raise_due_in_bulk(session, now=at, limit=batch)
        examined += step.examined
        raised += step.raised
        duplicates += step.already_raised
        if step.examined < batch:
            return ScanResult(examined, raised, duplicates)


def wake(runtime: Runtime, *, now: dt.datetime | None = None,
         batch: int = REMINDER_BATCH) -> int:
    """Reopen and re-deliver the snoozed reminders whose date has come."""
    at = now or runtime.now()
    total = 0
    while True:
        with transaction(runtime.sessions) as session:
            step = wake_snoozed(session, now=at, limit=batch)
        total += step
        if step < batch:
            return total


def escalate(runtime: Runtime, *, now: dt.datetime | None = None,
             batch: int = REMINDER_BATCH) -> EscalationResult:
    """Escalate, once each, the reminders left unattended past their escalation time."""
    at = now or runtime.now()
    lead = runtime.settings.lead_clinician_email or None
    escalated = cleared = 0
    while True:
        with transaction(runtime.sessions) as session:
            step = escalate_due(session, now=at, lead_email=lead, limit=batch)
        escalated += step.escalated
        cleared += step.cleared
        if step.escalated + step.cleared < batch:
            return EscalationResult(escalated=escalated, cleared=cleared)


def reminders_tick(runtime: Runtime, *, now: dt.datetime | None = None) -> ReminderTick:
    """Wake, scan and escalate as of one instant."""
    at = now or runtime.now()
    woke = wake(runtime, now=at)
    result = scan(runtime, now=at)
    return ReminderTick(woke=woke, scan=result, escalation=escalate(runtime, now=at))


def deliveries_tick(runtime: Runtime, config: DeliveryConfig, rng: random.Random,
                    client: httpx.Client | None = None) -> RoundResult:
    """Deliver until nothing is due now."""
    return deliver_until_idle(runtime, config, rng, client)


def purge_idempotency(runtime: Runtime, *, now: dt.datetime | None = None) -> int:
    """Delete the stored idempotency responses past their retention at `now` (default: the
    runtime's clock), committing per batch; how many were deleted."""
    at = now or runtime.now()
    before = at - dt.timedelta(hours=runtime.settings.idempotency_retention_hours)
    purged = 0
    while True:
        with transaction(runtime.sessions) as session:
            step = purge_idempotency_records(session, before=before, limit=PURGE_BATCH)
        purged += step
        if step < PURGE_BATCH:
            return purged


def purge_sessions(runtime: Runtime, *, now: dt.datetime | None = None) -> int:
    """Delete dashboard sessions that ended or expired a day ago or more, and failed logins
    the throttle no longer counts, committing per batch; how many rows were deleted."""
    at = now or runtime.now()
    purged = 0
    with transaction(runtime.sessions) as session:
        purged += throttle.purge(session, now=at, policy=ThrottlePolicy())
    while True:
        with transaction(runtime.sessions) as session:
            step = purge_old_sessions(session, before=at - SESSION_KEEP, limit=PURGE_BATCH)
        purged += step
        if step < PURGE_BATCH:
            return purged


def describe_error(exc: BaseException) -> str:
    """An error's kind without its message: database errors carry SQL parameters, which may be
    patient data, so only class names (and the SQLSTATE) reach the log."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return f"{type(exc).__name__}/{type(exc.orig).__name__}" + (f" [{code}]" if code else "")
    return type(exc).__name__


def _failed(job: str, exc: Exception) -> None:
    if isinstance(exc, SQLAlchemyError):
        log.warning("%s failed: %s; retrying next tick", job, describe_error(exc))
        log.debug("%s failure", job, exc_info=True)
    else:
        log.exception("%s failed with an unexpected error; retrying next tick", job)


def run_reminders(runtime: Runtime) -> ReminderTick | None:
    """The reminders job as scheduled: never raises, logs counts."""
    try:
        tick = reminders_tick(runtime)
    except Exception as exc:
        _failed("reminders", exc)
        return None
    if tick.woke or tick.scan.examined or tick.escalation.escalated or tick.escalation.cleared:
        log.info("reminders: examined=%d raised=%d already_raised=%d woke=%d escalated=%d",
                 tick.scan.examined, tick.scan.raised, tick.scan.already_raised, tick.woke,
                 tick.escalation.escalated)
    return tick


def run_statistics(runtime: Runtime) -> None:
    """The daily statistics job (SQLite's planner statistics; nothing on PostgreSQL)."""
    try:
        refresh_statistics(runtime.engine)
    except Exception as exc:
        _failed("statistics", exc)


def run_housekeeping(runtime: Runtime) -> int | None:
    """The hourly housekeeping job (idempotency responses past their retention, old sessions
    and failed logins): never raises, logs counts."""
    try:
        purged = purge_idempotency(runtime)
        sessions = purge_sessions(runtime)
    except Exception as exc:
        _failed("housekeeping", exc)
        return None
    if purged or sessions:
        log.info("housekeeping: purged=%d stored idempotency responses, %d old sessions and "
                 "failed logins", purged, sessions)
    return purged + sessions


def run_deliveries(runtime: Runtime, config: DeliveryConfig, rng: random.Random,
                   client: httpx.Client | None = None) -> RoundResult | None:
    """The deliveries job as scheduled: never raises, logs counts."""
    try:
        result = deliveries_tick(runtime, config, rng, client)
    except Exception as exc:
        _failed("deliveries", exc)
        return None
    if result.leased or result.held or result.dead or result.skipped:
        log.info("deliveries: leased=%d delivered=%d retrying=%d dead=%d held=%d deferred=%d "
                 "skipped=%d", result.leased, result.delivered, result.retrying, result.dead,
                 result.held, result.deferred, result.skipped)
    return result
