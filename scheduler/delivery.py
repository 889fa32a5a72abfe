"""One delivery round: lease due outbox rows (committed), send them outside any transaction,
record the outcomes (committed). The core (`pathway.deliveries`) decides; this module does I/O.

A round never holds a database transaction open while it talks to the network. A process
keeps one HTTP client for all its rounds (`http_client`): building one loads the CA bundle,
which costs more CPU than a hundred deliveries. It stops
sending before its lease runs out (the rest are deferred, not counted as attempts), and once
an endpoint fails in a round, its remaining messages wait for the next round instead of
hammering it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields

import httpx

from pathway.deliveries import (
    EMAIL,
    WEBHOOK,
    Outcome,
    OutcomeKind,
    Outgoing,
    RetryPolicy,
    lease_due,
    record_outcomes,
)
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction
from scheduler.email import EmailSender, SmtpConfig
from scheduler.webhooks import TIMEOUT, WebhookSender

#: Messages leased per round: small enough to be sent well within a lease.
DELIVERY_BATCH = 50
#: Share of the lease a round may spend sending before it defers the rest.
LEASE_BUDGET = 0.6


def worker_id() -> str:
    """A name for this sender, unique per process start (kept with its leases and attempts)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class DeliveryConfig:
    """How this process delivers: its name, batch, lease, retry policy and SMTP (if any)."""

    worker: str
    lease_seconds: float
    policy: RetryPolicy
    smtp: SmtpConfig | None
    batch: int = DELIVERY_BATCH

    @classmethod
    def from_settings(cls, settings: Settings, worker: str | None = None) -> DeliveryConfig:
        """Read the delivery settings; e-mail is off while `PATHWAY_SMTP_HOST` is empty."""
        smtp = (SmtpConfig(host=settings.smtp_host, port=settings.smtp_port,
                           sender=settings.smtp_sender, mode=settings.email_mode)
                if settings.smtp_host else None)
        policy = RetryPolicy(max_attempts=settings.delivery_max_attempts,
                             base_seconds=settings.delivery_backoff_seconds)
        return cls(worker=worker or worker_id(), lease_seconds=settings.delivery_lease_seconds,
                   policy=policy, smtp=smtp)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this process can send on (e-mail waits until SMTP is configured)."""
        return (WEBHOOK, EMAIL) if self.smtp else (WEBHOOK,)


@dataclass(frozen=True)
class RoundResult:
    """Counts of one or more delivery rounds."""

    leased: int = 0
    held: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0  # not sent: the reminder was resolved first

    def __add__(self, other: RoundResult) -> RoundResult:
        return RoundResult(*(getattr(self, f.name) + getattr(other, f.name)
                             for f in fields(self)))


def http_client() -> httpx.Client:
    """The HTTP client a sender keeps for its lifetime (close it when the process stops)."""
    return httpx.Client(timeout=TIMEOUT)


@contextmanager
def _client(given: httpx.Client | None) -> Iterator[httpx.Client]:
    if given is not None:
        yield given
        return
    with http_client() as client:
        yield client


def _send_webhooks(items: Sequence[Outgoing], clock: Callable[[], dt.datetime],
                   deadline: float, client: httpx.Client) -> list[Outcome]:
    outcomes: list[Outcome] = []
    failed_urls: set[str] = set()
    sender = WebhookSender(client)
    for item in items:
        if time.monotonic() > deadline:
            outcomes.append(Outcome(item.id, OutcomeKind.DEFERRED, "lease budget spent"))
            continue
        if item.url in failed_urls:
            outcomes.append(Outcome(item.id, OutcomeKind.DEFERRED, "endpoint failing"))
            continue
        outcome = sender.send(item, clock())
        if outcome.kind == OutcomeKind.FAILED and item.url:
            failed_urls.add(item.url)
        outcomes.append(outcome)
    return outcomes


def send_leased(items: Sequence[Outgoing], config: DeliveryConfig,
                clock: Callable[[], dt.datetime],
                client: httpx.Client | None = None) -> list[Outcome]:
    """Send leased messages on their channels; every item gets an outcome."""
    deadline = time.monotonic() + config.lease_seconds * LEASE_BUDGET
    webhooks = [i for i in items if i.channel == WEBHOOK]
    outcomes: list[Outcome] = []
    if webhooks:
        with _client(client) as http:
            outcomes = _send_webhooks(webhooks, clock, deadline, http)
    mail = [i for i in items if i.channel == EMAIL]
    if mail and config.smtp is not None:
        outcomes += EmailSender(config.smtp).send(mail, clock())
    else:
        outcomes += [Outcome(i.id, OutcomeKind.DEFERRED, "no SMTP") for i in mail]
    return outcomes


def deliver_round(runtime: Runtime, config: DeliveryConfig, rng: random.Random,
                  client: httpx.Client | None = None) -> RoundResult:
    """Lease one batch, send it, record the outcomes."""
    with transaction(runtime.sessions) as session:
        lease = lease_due(session, now=runtime.now(), worker=config.worker, limit=config.batch,
                          lease_seconds=config.lease_seconds, channels=config.channels)
    outcomes = send_leased(lease.outgoing, config, runtime.now, client)
    with transaction(runtime.sessions) as session:
        recorded = record_outcomes(session, outcomes, now=runtime.now(), worker=config.worker,
                                   policy=config.policy, rng=rng)
    return RoundResult(leased=len(lease.outgoing), held=lease.held,
                       delivered=recorded.delivered, retrying=recorded.retrying,
                       dead=recorded.dead + lease.dead, deferred=recorded.deferred,
                       skipped=lease.skipped)


def deliver_until_idle(runtime: Runtime, config: DeliveryConfig, rng: random.Random,
                       client: httpx.Client | None = None,
                       max_seconds: float = 300.0) -> RoundResult:
    """Run rounds until nothing is due now (or `max_seconds` pass). A full batch that was
    only held, dead-lettered or skipped moved its rows out of the due set, so the next round
    looks further; one whose every leased message was deferred would only meet them again."""
    total = RoundResult()
    stop = time.monotonic() + max_seconds
    with _client(client) as http:
        while True:
            step = deliver_round(runtime, config, rng, http)
            total += step
            taken = step.leased + step.held + step.dead + step.skipped
            stuck = step.leased > 0 and step.deferred == step.leased
            if taken < config.batch or stuck or time.monotonic() > stop:
                return total
