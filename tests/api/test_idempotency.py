"""`Idempotency-Key`: a retry replays the first response and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from pathway.models import Episode, EventRecord, IdempotencyRecord, ReminderAction
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
