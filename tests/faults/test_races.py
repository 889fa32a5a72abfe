"""Many clients sending conflicting events to the same episodes and acting on the same
reminders at the same instant, through real `pathway serve` processes (two on PostgreSQL,
one on SQLite).

Every request ends in success or a conflict (409 / 412), never anything else; the version
counter, the event log and the 2xx answers agree exactly (no lost update); a reminder that an
event resolves while someone acknowledges or snoozes it ends resolved, not revived.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pathway import access
from pathway.clock import utc_now
from pathway.store.db import make_sessionmaker, transaction
from pathway.store.models import (
    Episode,
    EventRecord,
    Patient,
    Reminder,
    ReminderAction,
    User,
)
from tests.builders import intake
from tests.faults.invariants import audit_database
from tests.faults.ledger import Entry
from tests.faults.processes import Fleet
from tests.faults.seed import seed
from tests.faults.sizes import sized
from tests.faults.workload import choose_event
from tests.support.databases import TestDatabase

THREADS = sized(8, 24)
EPISODES = sized(6, 40)
ROUNDS = sized(4, 25)
MIXED_SECONDS = sized(3.0, 30.0)
CONFLICT = {409, 412}


@dataclass
class Answers:
    """Every answer, and the 2xx event answers per episode."""

    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    applied: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response, allowed: set[int], what: str) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code not in allowed:
                self.unexpected.append(f"{what}: {response.status_code} {response.text[:200]}")


class Http:
    """One client per thread, spread over the API processes."""

    def __init__(self, urls: list[str], key: str) -> None:
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {key}"}
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(timeout=30)
        client: httpx.Client = self.local.client
        return client

    def request(self, method: str, path: str, n: int, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = self.urls[n % len(self.urls)] + path
        return self.client().request(method, url, headers=headers, **kwargs)


def _at_once(n: int, task: Callable[[int, threading.Barrier], None]) -> None:
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(n) as pool:
        for future in [pool.submit(task, i, barrier) for i in range(n)]:
            future.result()


def _send(http: Http, answers: Answers, episode_id: int, n: int, body: dict[str, Any],
          headers: dict[str, str] | None = None) -> httpx.Response:
    response = http.request("POST", f"/v1/episodes/{episode_id}/events", n, json=body,
                            headers=headers or {})
    answers.record(response, {201} | CONFLICT, f"{body['event']} on {episode_id}")
    if response.status_code == 201:
        with answers.lock:
            answers.applied[episode_id].append(int(response.json()["event"]["seq"]))
    return response


def same_transition_at_once(http: Http, answers: Answers, episodes: list[int]) -> int:
    """Everyone starts conservative care on the same episode at the same instant: one wins."""
    for episode_id in episodes:
        def task(n: int, barrier: threading.Barrier, episode_id: int = episode_id) -> None:
            barrier.wait()
            _send(http, answers, episode_id, n, {"event": "start_conservative_care"})
        _at_once(THREADS, task)
        assert len(answers.applied[episode_id]) == 1, answers.applied[episode_id]
    return THREADS * len(episodes)


def if_match_at_once(http: Http, answers: Answers, episode_id: int) -> int:
    """Everyone reads the ETag, then writes with If-Match at once: one write per version."""
    for _ in range(ROUNDS):
        before = len(answers.applied[episode_id])

        def task(n: int, barrier: threading.Barrier) -> None:
            etag = http.request("GET", f"/v1/episodes/{episode_id}", n).headers["etag"]
            barrier.wait()
            _send(http, answers, episode_id, n,
                  {"event": "record_symptom_change", "data": {"text": f"round note {n}"}},
                  headers={"If-Match": etag})
        _at_once(THREADS, task)
        assert len(answers.applied[episode_id]) == before + 1
    return THREADS * ROUNDS


def mixed_for_a_while(http: Http, answers: Answers, episodes: list[int]) -> int:
    """Random allowed events (close included), half of them with If-Match, for a while."""
    stop = time.monotonic() + MIXED_SECONDS
    sent = Counter[int]()

    def task(n: int, barrier: threading.Barrier) -> None:
        rng = random.Random(n)
        barrier.wait()
        while time.monotonic() < stop:
            episode_id = rng.choice(episodes)
            read = http.request("GET", f"/v1/episodes/{episode_id}", n)
            chosen = choose_event(read.json()["allowed_events"], rng,
                                  excluded=frozenset({"record_neuro_change"}))
            if chosen is None:
                continue
            headers = {"If-Match": read.headers["etag"]} if rng.random() < 0.5 else {}
            _send(http, answers, episode_id, n, {"event": chosen[0], "data": chosen[1]},
                  headers)
            sent[n] += 1
    _at_once(THREADS, task)
    return sum(sent.values())


def same_new_patient_at_once(http: Http, answers: Answers, engine: Any) -> int:
    """Everyone opens an episode for the same new MRN at once: each gets an episode or a
    conflict, and there is one patient."""
    for round_ in range(ROUNDS):
        mrn = f"RACE{round_:04d}"

        def task(n: int, barrier: threading.Barrier, mrn: str = mrn) -> None:
            barrier.wait()
            response = http.request("POST", "/v1/episodes", n,
                                    json=intake(patient={"mrn": mrn}))
            answers.record(response, {201} | CONFLICT, f"open for {mrn}")
        _at_once(THREADS, task)
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Patient).where(
                Patient.mrn == mrn)) == 1
    return THREADS * ROUNDS


def same_idempotency_key_at_once(http: Http, answers: Answers, episode_id: int) -> int:
    """Everyone sends the same write with the same Idempotency-Key at once: it is applied
    once; the others replay its answer or are told it is in progress."""
    for round_ in range(ROUNDS):
        key = f"race-key-{episode_id}-{round_}"
        seqs: set[int] = set()

        def task(n: int, barrier: threading.Barrier, key: str = key,
                 seqs: set[int] = seqs) -> None:
            barrier.wait()
            response = http.request(
                "POST", f"/v1/episodes/{episode_id}/events", n,
                json={"event": "record_symptom_change", "data": {"text": key}},
                headers={"Idempotency-Key": key})
            answers.record(response, {201, 409}, f"same key {key}")
            if response.status_code == 201:
                with answers.lock:
                    seqs.add(int(response.json()["event"]["seq"]))
        _at_once(THREADS, task)
        assert len(seqs) == 1, seqs  # every 2xx is the same event
        answers.applied[episode_id].extend(seqs)
    return THREADS * ROUNDS


def reminder_actions_race_a_resolving_event(http: Http, coordinator: Http, answers: Answers,
                                            episodes: list[int], engine: Any) -> int:
    """A therapy is recorded (resolving the therapy reminder) while others acknowledge,
    snooze and assign that reminder: it ends resolved, and each 2xx left one history row."""
    tried = 0
    until = (utc_now() + dt.timedelta(days=3)).date().isoformat()
    with make_sessionmaker(engine)() as session:
        targets = {e: session.scalar(select(Reminder.id).where(
            Reminder.episode_id == e, Reminder.kind == "osteoporosis_therapy_overdue"))
            for e in episodes}
    ok: Counter[tuple[int, str]] = Counter()
    for episode_id, reminder_id in targets.items():
        assert reminder_id is not None

        def task(n: int, barrier: threading.Barrier, episode_id: int = episode_id,
                 reminder_id: int = reminder_id) -> None:
            barrier.wait()
            if n == 0:
                _send(http, answers, episode_id, n,
                      {"event": "record_therapy", "data": {"agent": "alendronate"}})
                return
            action, body = [("acknowledge", {"note": f"seen {n}"}),
                            ("snooze", {"until": until, "reason": "waiting for the GP"}),
                            ("assign", {"assignee": f"nurse{n}"})][n % 3]
            response = coordinator.request("POST", f"/v1/reminders/{reminder_id}/{action}", n,
                                           json=body)
            answers.record(response, {200, 409}, f"{action} reminder {reminder_id}")
            if response.status_code == 200:
                with answers.lock:
                    ok[(reminder_id, action)] += 1
        _at_once(THREADS, task)
        tried += THREADS
    with make_sessionmaker(engine)() as session:
        for reminder_id in targets.values():
            reminder = session.get_one(Reminder, reminder_id)
            assert reminder.status == "resolved", (reminder_id, reminder.status)
            actions = Counter(session.scalars(select(ReminderAction.action).where(
                ReminderAction.reminder_id == reminder_id)))
            for action, past in (("acknowledge", "acknowledged"), ("snooze", "snoozed"),
                                 ("assign", "assigned")):
                assert actions[past] == ok[(reminder_id, action)], (reminder_id, actions, ok)
            assert actions["resolved"] == 1
    return tried


@pytest.mark.slow
def test_conflicting_clients(db: TestDatabase, tmp_path: Path, ledger: Entry) -> None:
    # Identified 20 days ago: the plan and therapy reminders are raised at opening.
    seeded = seed(db.engine, episodes=EPISODES + 4, days_ago=20)
    with transaction(db.sessions) as session:
        _key, raw = access.create_api_key(session, name="coordinator", role="coordinator",
                                          now=utc_now())
        # The nurses the threads assign to (assignment takes active staff only).
        session.add_all(User(username=f"nurse{n}", password_hash="!", role="coordinator",
                             active=True, created_at=utc_now()) for n in range(THREADS))
    fleet = Fleet(db.url, tmp_path)
    answers = Answers()
    ids = seeded.episode_ids
    try:
        fleet.start(apis=2 if db.backend == "postgresql" else 1, schedulers=0)
        http, coordinator = Http(fleet.urls, seeded.key), Http(fleet.urls, raw)
        tried = same_transition_at_once(http, answers, ids[:EPISODES])
        tried += if_match_at_once(http, answers, ids[0])
        tried += reminder_actions_race_a_resolving_event(http, coordinator, answers,
                                                         ids[EPISODES:], db.engine)
        tried += same_new_patient_at_once(http, answers, db.engine)
        tried += same_idempotency_key_at_once(http, answers, ids[1])
        tried += mixed_for_a_while(http, answers, ids[:3])
    finally:
        fleet.stop_all()
    ledger.tried(tried)
    assert answers.unexpected == [], answers.unexpected[:10]
    assert answers.statuses[409] + answers.statuses[412] > 0
    with db.sessions() as session:
        logged = dict(session.execute(select(EventRecord.episode_id, func.count()).where(
            EventRecord.seq > 1).group_by(EventRecord.episode_id)).all())
        versions = dict(session.execute(select(Episode.id, Episode.version)).all())
        for episode_id in ids:
            seqs = sorted(answers.applied.get(episode_id, []))
            # No lost update: each 2xx is one logged event, at its own seq, and nothing else.
            assert seqs == list(range(2, 2 + logged.get(episode_id, 0))), episode_id
            assert versions[episode_id] == 1 + len(seqs)
        audit = audit_database(session)
    audit.assert_clean()
    for what, n in audit.counts().items():
        ledger.check(what, n)
    ledger.check("2xx answers matched to the log", sum(len(v) for v in answers.applied.values()))
    ledger.note(f"{db.backend}: {THREADS} threads, " + ", ".join(
        f"{k}×{v}" for k, v in sorted(answers.statuses.items())))
