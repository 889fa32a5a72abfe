"""Optimistic concurrency over HTTP: If-Match / 412, and racing clients on PostgreSQL.

The races run the real app under uvicorn on loopback, with two HTTP clients released together
by a barrier: in each race exactly one wins, the other is refused (409 or 412), and the event
log has neither a lost nor a doubled row.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from pathway.store.models import Patient
from tests.api.support import ApiHarness, make_harness
from tests.builders import intake
from tests.support.databases import TestDatabase

ROUNDS = 12


def test_if_match(api: ApiHarness) -> None:
    ep = api.open()
    read = api.client.get(f"/v1/episodes/{ep['id']}", headers=api.auth())
    assert read.headers["ETag"] == '"1"'
    moved = api.send(ep["id"], "start_conservative_care", 0, headers={"If-Match": '"1"'})
    assert moved.status_code == 201 and moved.headers["ETag"] == '"2"'
    stale = api.send(ep["id"], "suspect_malignancy", 0, red_flags=["malignancy_history"],
                     headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    problem = stale.json()
    assert problem["current_version"] == 2 and problem["expected_version"] == 1
    assert stale.headers["ETag"] == '"2"'
    for header in ('W/"2"', "2", '"two"'):  # weak or malformed tags never match
        assert api.send(ep["id"], "resolve", 0, headers={"If-Match": header}).status_code == 412
    assert api.send(ep["id"], "resolve", 0, headers={"If-Match": '"7", "2"'}).status_code == 201
    assert api.send(ep["id"], "close", 0, reason="withdrawn",
                    headers={"If-Match": "*"}).status_code == 201
    log = api.client.get(f"/v1/episodes/{ep['id']}/events", headers=api.auth()).json()
    assert [e["name"] for e in log["items"]] == [
        "open_episode", "start_conservative_care", "resolve", "close"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(pg_db: TestDatabase) -> Iterator[tuple[ApiHarness, str]]:
    """The app under uvicorn on PostgreSQL; yields the harness and the base URL."""
    harness = make_harness(pg_db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(harness.client.app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield harness, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _race(base: str, headers: dict[str, str], requests: list[tuple[str, dict[str, Any],
                                                                    dict[str, str]]]
          ) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))

    def go(request: tuple[str, dict[str, Any], dict[str, str]]) -> httpx.Response:
        path, body, extra = request
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait()
            return client.post(path, json=body, headers={**headers, **extra})

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(go, requests))


def _log(client: httpx.Client, episode_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/v1/episodes/{episode_id}/events").json()["items"]
    return items


def test_conflicting_events_race(live: tuple[ApiHarness, str]) -> None:
    api, base = live
    headers = api.auth("integration")
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(ROUNDS):
            ep = api.open()
            path = f"/v1/episodes/{ep['id']}/events"
            assert client.post(path, json={"event": "start_conservative_care"}).status_code == 201
            resolve = {"event": "resolve"}
            surgery = {"event": "refer_surgery", "data": {"reason": "failed_medical_management"}}
            outcomes = _race(base, headers, [(path, resolve, {}), (path, surgery, {})])
            codes = sorted(r.status_code for r in outcomes)
            assert codes == [201, 409], [r.text for r in outcomes]
            winner = next(r for r in outcomes if r.status_code == 201).json()
            log = _log(client, ep["id"])
            assert [e["seq"] for e in log] == [1, 2, 3]
            assert log[-1]["name"] == winner["event"]["name"]
            episode = client.get(f"/v1/episodes/{ep['id']}").json()
            assert episode["state"] == winner["episode"]["state"] and episode["version"] == 3


def test_same_etag_race(live: tuple[ApiHarness, str]) -> None:
    api, base = live
    headers = api.auth("integration")
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(ROUNDS):
            ep = api.open()
            path = f"/v1/episodes/{ep['id']}/events"
            match = {"If-Match": '"1"'}
            outcomes = _race(base, headers, [
                (path, {"event": "record_contact", "data": {"kind": "liaison_monitoring"}}, match),
                (path, {"event": "record_therapy", "data": {"agent": "alendronate"}}, match),
            ])
            codes = sorted(r.status_code for r in outcomes)
            assert codes[0] == 201 and codes[1] in {409, 412}, [r.text for r in outcomes]
            assert [e["seq"] for e in _log(client, ep["id"])] == [1, 2]


def test_same_idempotency_key_race(live: tuple[ApiHarness, str]) -> None:
    api, base = live
    headers = api.auth("integration")
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for round_ in range(ROUNDS):
            ep = api.open()
            path = f"/v1/episodes/{ep['id']}/events"
            key = {"Idempotency-Key": f"race-{round_}"}
            body = {"event": "start_conservative_care"}
            outcomes = _race(base, headers, [(path, body, key), (path, body, key)])
            assert [r.status_code for r in outcomes] == [201, 201], [r.text for r in outcomes]
            assert outcomes[0].json() == outcomes[1].json()
            assert [e["seq"] for e in _log(client, ep["id"])] == [1, 2]


def test_same_new_patient_race(live: tuple[ApiHarness, str]) -> None:
    api, base = live
    headers = api.auth("integration")
    for round_ in range(ROUNDS):
        body = intake(patient={"mrn": f"RACE{round_}"})
        outcomes = _race(base, headers, [("/v1/episodes", body, {}), ("/v1/episodes", body, {})])
        codes = sorted(r.status_code for r in outcomes)
        assert codes in ([201, 201], [201, 409]), [r.text for r in outcomes]
        with api.db.sessions() as session:
            patients = session.scalars(select(Patient).where(
                Patient.mrn == f"RACE{round_}")).all()
        assert len(patients) == 1
