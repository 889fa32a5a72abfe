"""Load clients: threads sending pathway events over real HTTP, the way an integration would.

Each logical write carries an `Idempotency-Key` and is retried with the same key (on any API
process) after a 503, a dropped connection or a refused connection, until it gets a definitive
answer: a 2xx (applied exactly once, possibly replayed) or a 4xx (not applied). So afterwards
the event log must hold exactly the acknowledged writes: nothing lost, nothing doubled.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: Events the load does not send: `close` ends an episode's milestones and `record_contact`
#: meets the liaison milestones the tests force due for the schedulers.
NOT_SENT = frozenset({"close", "record_contact"})

DataMaker = Callable[[random.Random], dict[str, Any]]
DATA: dict[str, DataMaker] = {
    "start_conservative_care": lambda r: {},
    "suspect_malignancy": lambda r: {"red_flags": [r.choice(["imaging_suspicious",
                                                             "malignancy_history"])]},
    "exclude_malignancy": lambda r: {},
    "confirm_malignancy": lambda r: {},
    "record_reassessment": lambda r: {
        "pain_score": r.randint(0, 10),
        "symptoms": r.choice(["persistent", "persistent", "improving", "worse", "resolved"])},
    "record_imaging": lambda r: {"modality": r.choice(["mri", "ct", "xray"]),
                                 "finding": r.choice(["stable", "stable", "progression",
                                                      "malignancy_suspected"])},
    "review_augmentation": lambda r: {"decision": r.choice(["continue", "continue", "refer",
                                                            "resolved"])},
    "refer_early_augmentation": lambda r: {"reason": "severe_disabling_pain"},
    "refer_surgery": lambda r: {"reason": "instability"},
    "resolve": lambda r: {},
    "close": lambda r: {"reason": "withdrawn"},
    "record_therapy": lambda r: {"agent": r.choice(["alendronate", "denosumab", "calcitonin",
                                                    "calcium_vitamin_d"])},
    "decline_therapy": lambda r: {"reason": r.choice(["declined", "contraindicated"])},
    "record_neuro_change": lambda r: {"findings": ["radicular_symptoms"]},
    "record_symptom_change": lambda r: {"text": "pain worse on standing", "note": "phone call"},
    "record_contact": lambda r: {"kind": "liaison_monitoring"},
}


def choose_event(allowed: list[str], rng: random.Random,
                 excluded: frozenset[str] = NOT_SENT) -> tuple[str, dict[str, Any]] | None:
    """A random allowed event with valid data, or None if only excluded ones are allowed."""
    options = [e for e in allowed if e not in excluded and e in DATA]
    if not options:
        return None
    name = rng.choice(options)
    return name, DATA[name](rng)


@dataclass
class Outcome:
    """The definitive answer to one logical write."""

    episode_id: int
    event: str
    key: str
    status: int
    seq: int | None
    attempts: int
    replayed: bool


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503
    unavailable_without_retry_after: int = 0
    unavailable_not_problem: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, method: str, path: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 503:
                if not response.headers.get("retry-after", "").isdigit():
                    self.unavailable_without_retry_after += 1
                if response.headers.get("content-type") != "application/problem+json":
                    self.unavailable_not_problem += 1
            elif response.status_code >= 500:
                self.server_errors.append(
                    f"{method} {path} -> {response.status_code}: {response.text[:300]}")

    def failed(self, error: Exception) -> None:
        with self.lock:
            self.transport_errors[type(error).__name__] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.transport_errors.values())

    def acknowledged(self) -> list[Outcome]:
        return [o for o in self.outcomes if 200 <= o.status < 300]


RETRYABLE = (httpx.TransportError,)


def _in_progress(response: httpx.Response) -> bool:
    """A concurrent request with the same key holds it: retry (not definitive)."""
    return response.status_code == 409 and str(response.json().get("type", "")).endswith(
        "idempotency-in-progress")


class Client(threading.Thread):
    """One integration: reads an episode, sends an allowed event, retries until definitive."""

    def __init__(self, *, urls: Callable[[], list[str]], key: str, episodes: list[int],
                 tally: Tally, stop: threading.Event, seed: int,
                 excluded: frozenset[str] = NOT_SENT, give_up_after: float = 60.0) -> None:
        super().__init__(daemon=True, name=f"client-{seed}")
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {key}"}
        self.episodes = episodes
        self.tally = tally
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.excluded = excluded
        self.give_up_after = give_up_after
        self.http = httpx.Client(timeout=httpx.Timeout(15.0, connect=2.0))

    def _url(self) -> str:
        return self.rng.choice(self.urls())

    def _get(self, path: str) -> httpx.Response | None:
        try:
            response = self.http.get(self._url() + path, headers=self.headers)
        except RETRYABLE as exc:
            self.tally.failed(exc)
            time.sleep(0.2)
            return None
        self.tally.saw("GET", path, response)
        with self.tally.lock:
            self.tally.reads += 1
        if response.status_code == 503:
            time.sleep(0.1)
        return response

    def send(self, episode_id: int, event: str, data: dict[str, Any]) -> Outcome | None:
        """POST one event until a definitive answer (or give up, recorded as unresolved)."""
        key = uuid.uuid4().hex
        path = f"/v1/episodes/{episode_id}/events"
        body = {"event": event, "data": data}
        started = time.monotonic()
        attempts = 0
        while time.monotonic() - started < self.give_up_after:
            attempts += 1
            try:
                response = self.http.post(self._url() + path, json=body,
                                          headers={**self.headers, "Idempotency-Key": key})
            except RETRYABLE as exc:
                self.tally.failed(exc)
                time.sleep(0.2)
                continue
            self.tally.saw("POST", path, response)
            if response.status_code == 503 or _in_progress(response):
                time.sleep(0.1)
                continue
            seq = None
            if 200 <= response.status_code < 300:
                seq = int(response.json()["event"]["seq"])
            outcome = Outcome(episode_id, event, key, response.status_code, seq, attempts,
                              response.headers.get("idempotent-replayed") == "true")
            with self.tally.lock:
                self.tally.outcomes.append(outcome)
            return outcome
        with self.tally.lock:
            self.tally.unresolved.append(f"{event} on {episode_id} after {attempts} attempts")
        return None

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                episode_id = self.rng.choice(self.episodes)
                response = self._get(f"/v1/episodes/{episode_id}")
                if response is None or response.status_code != 200:
                    continue
                chosen = choose_event(response.json()["allowed_events"], self.rng,
                                      self.excluded)
                if chosen is not None:
                    self.send(episode_id, *chosen)
        finally:
            self.http.close()


def run_clients(n: int, **kwargs: Any) -> tuple[list[Client], threading.Event]:
    """Start `n` clients; set the returned event to stop them, then join them."""
    stop = threading.Event()
    base_seed = int(kwargs.pop("seed", 1))
    clients = [Client(stop=stop, seed=base_seed + i, **kwargs) for i in range(n)]
    for client in clients:
        client.start()
    return clients, stop


def stop_clients(clients: list[Client], stop: threading.Event, timeout: float = 90) -> None:
    """Stop the clients; each finishes (definitively) the write it has in hand."""
    stop.set()
    for client in clients:
        client.join(timeout)
        assert not client.is_alive(), f"{client.name} did not finish"
