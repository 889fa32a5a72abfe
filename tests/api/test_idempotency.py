"""`Idempotency-Key`: a retry replays the first response and changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from pathway.store.db import transaction
from pathway.store.models import Episode, EventRecord, IdempotencyRecord, ReminderAction
from pathway.store.retention import PURGE_BATCH, purge_idempotency_records
from scheduler.jobs import purge_idempotency
from tests.api.support import ApiHarness
from tests.builders import intake


def _count(api: ApiHarness, model: type) -> int:
    with api.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_retried_open_replays_the_first_response(api: ApiHarness) -> None:
    body = intake()
    headers = {**api.auth("integration"), "Idempotency-Key": "open-1"}
    first = api.client.post("/v1/episodes", json=body, headers=headers)
    api.clock.to_day(1)  # a retry later must still return exactly what the first one did
    second = api.client.post("/v1/episodes", json=dict(reversed(body.items())), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(api, Episode) == 1


def test_retried_event_is_recorded_once(api: ApiHarness) -> None:
    ep = api.open()
    headers = {"Idempotency-Key": "evt-42"}
    first = api.send(ep["id"], "start_conservative_care", 0, headers=headers)
    again = api.send(ep["id"], "start_conservative_care", 0, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert _count(api, EventRecord) == 2  # the opening and one transition


def test_same_key_other_body_is_422(api: ApiHarness) -> None:
    ep = api.open()
    headers = {"Idempotency-Key": "k-1"}
    assert api.send(ep["id"], "start_conservative_care", 0, headers=headers).status_code == 201
    other = api.send(ep["id"], "record_contact", 0, headers=headers, kind="liaison_monitoring")
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    elsewhere = api.client.post("/v1/episodes", json=intake(),
                                headers={**api.auth("integration"), **headers})
    assert elsewhere.status_code == 422
    assert _count(api, EventRecord) == 2 and _count(api, Episode) == 1


def test_keys_belong_to_their_caller(api: ApiHarness) -> None:
    ep = api.open()
    headers = {"Idempotency-Key": "shared"}
    mine = api.send(ep["id"], "start_conservative_care", 0, headers=headers)
    theirs = api.send(ep["id"], "record_contact", 0, role="clinician", headers=headers,
                      kind="liaison_monitoring")
    assert mine.status_code == theirs.status_code == 201
    assert _count(api, IdempotencyRecord) == 2


def test_a_failed_request_can_be_retried_with_its_key(api: ApiHarness) -> None:
    ep = api.open(red_flags=["malignancy_history"])
    headers = {"Idempotency-Key": "retry-after-fix"}
    refused = api.send(ep["id"], "start_conservative_care", 0, headers=headers)
    assert refused.status_code == 409
    assert _count(api, IdempotencyRecord) == 0
    api.send(ep["id"], "suspect_malignancy", 0, red_flags=["malignancy_history"])
    api.send(ep["id"], "exclude_malignancy", 0)
    assert api.send(ep["id"], "start_conservative_care", 0, headers=headers).status_code == 201


def test_reminder_actions_are_idempotent(api: ApiHarness) -> None:
    api.clock.to_day(5)
    reminder = api.open()["reminders"][0]
    headers = {**api.auth("coordinator"), "Idempotency-Key": "ack-1"}
    url = f"/v1/reminders/{reminder['id']}/acknowledge"
    first = api.client.post(url, json={"note": "called the ward"}, headers=headers)
    second = api.client.post(url, json={"note": "called the ward"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    with api.db.sessions() as session:
        actions = session.scalars(select(ReminderAction.action).where(
            ReminderAction.reminder_id == reminder["id"])).all()
    assert actions.count("acknowledged") == 1


def test_malformed_keys_are_refused(api: ApiHarness) -> None:
    ep = api.open()
    for key in ("", "x" * 201, "has space"):
        response = api.send(ep["id"], "start_conservative_care", 0,
                            headers={"Idempotency-Key": key})
        assert response.status_code == 422, key
        assert response.json()["field"] == "Idempotency-Key"


def test_keys_are_kept_for_their_retention_then_purged(api: ApiHarness) -> None:
    """A retry within the retention (24 h by default) replays; the scheduler's housekeeping
    then deletes the stored response (only those past the retention), and the same key is
    a new request again."""
    body = {"url": "http://127.0.0.1:9/hook", "event_names": ["*"]}
    headers = {**api.auth("admin"), "Idempotency-Key": "hook-1"}
    first = api.client.post("/v1/webhooks", json=body, headers=headers)
    api.clock.now += dt.timedelta(hours=23)
    fresh = api.client.post("/v1/webhooks", json=body,
                            headers={**api.auth("admin"), "Idempotency-Key": "hook-2"})
    assert purge_idempotency(api.runtime) == 0  # nothing is 24 hours old yet
    replay = api.client.post("/v1/webhooks", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    api.clock.now += dt.timedelta(hours=2)  # 25 h after the first, 2 h after the second
    assert purge_idempotency(api.runtime) == 1
    with api.db.sessions() as session:
        assert session.scalars(select(IdempotencyRecord.key)).all() == ["hook-2"]
    again = api.client.post("/v1/webhooks", json=body, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] not in {first.json()["id"], fresh.json()["id"]}
    assert api.client.post("/v1/webhooks", json=body, headers={
        **api.auth("admin"), "Idempotency-Key": "hook-2"}).headers["Idempotent-Replayed"]


def test_purge_deletes_in_batches_oldest_first(api: ApiHarness) -> None:
    """`purge_idempotency_records` deletes at most `limit` rows, the oldest first; the job
    repeats it until nothing past the retention is left."""
    now = api.clock.now
    with transaction(api.db.sessions) as session:
        session.add_all(IdempotencyRecord(
            actor="key:x", key=f"k{i}", method="POST", path="/v1/episodes", body_hash="0" * 64,
            status_code=201, response_headers={}, response_body="{}",
            created_at=now - dt.timedelta(hours=48, minutes=i)) for i in range(PURGE_BATCH + 5))
        session.add(IdempotencyRecord(
            actor="key:x", key="recent", method="POST", path="/v1/episodes",
            body_hash="0" * 64, status_code=201, response_headers={}, response_body="{}",
            created_at=now - dt.timedelta(hours=1)))
    with transaction(api.db.sessions) as session:
        assert purge_idempotency_records(
            session, before=now - dt.timedelta(hours=24), limit=3) == 3
    with api.db.sessions() as session:  # the three oldest went first
        keys = set(session.scalars(select(IdempotencyRecord.key)))
        assert {f"k{i}" for i in range(PURGE_BATCH + 2, PURGE_BATCH + 5)}.isdisjoint(keys)
        assert "k0" in keys and len(keys) == PURGE_BATCH + 3
    assert purge_idempotency(api.runtime) == PURGE_BATCH + 2  # two batches
    assert _count(api, IdempotencyRecord) == 1
