"""Reminders over HTTP: list and filter, acknowledge, snooze, assign, history, refusals."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest

from pathway.delivery_history import HISTORY_ACTIONS
from scheduler.delivery import DeliveryConfig, RoundResult, deliver_until_idle
from tests.api.support import ApiHarness
from tests.scheduler.support import SECRET, Receiver


def _late_episodes(api: ApiHarness) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two episodes opened on day 20: plan, therapy and calcium reminders are overdue."""
    api.clock.to_day(20)
    first = api.open(coordinator="alex")
    second = api.open(coordinator="sam")
    return first, second


def test_list_filters_and_order(api: ApiHarness) -> None:
    first, second = _late_episodes(api)
    auth = api.auth("coordinator")
    everything = api.client.get("/v1/reminders", headers=auth).json()["items"]
    assert len(everything) == 6
    assert [r["priority"] for r in everything] == ["urgent"] * 2 + ["routine"] * 4
    kinds = {r["kind"] for r in everything}
    assert kinds == {"plan_overdue", "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"}
    assert all(r["rule"] and r["seeds"] for r in everything)
    alex = api.client.get("/v1/reminders?coordinator=alex", headers=auth).json()["items"]
    assert {r["episode_id"] for r in alex} == {first["id"]}
    one = api.client.get(f"/v1/reminders?episode={second['id']}&kind=plan_overdue",
                         headers=auth).json()["items"]
    assert [(r["episode_id"], r["kind"]) for r in one] == [(second["id"], "plan_overdue")]
    urgent = api.client.get("/v1/reminders?priority=urgent&status=open", headers=auth).json()
    assert {r["kind"] for r in urgent["items"]} == {"osteoporosis_therapy_overdue"}


def test_pages_with_a_cursor(api: ApiHarness) -> None:
    _late_episodes(api)
    auth = api.auth("coordinator")
    seen, cursor = [], None
    while True:
        query = "/v1/reminders?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(query, headers=auth).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = api.client.get("/v1/reminders", headers=auth).json()["items"]
    assert seen == [r["id"] for r in everything] and len(seen) == 6


def test_acknowledge_snooze_assign_with_history(api: ApiHarness) -> None:
    first, _ = _late_episodes(api)
    reminder = next(r for r in first["reminders"] if r["kind"] == "plan_overdue")
    assert reminder["escalate_at"] is not None
    url = f"/v1/reminders/{reminder['id']}"
    auth = api.auth("coordinator")

    snoozed = api.client.post(f"{url}/snooze", json={"until": "2026-03-25",
                                                     "reason": "awaiting MRI slot"},
                              headers=auth)
    assert snoozed.status_code == 200, snoozed.text
    body = snoozed.json()
    assert body["status"] == "snoozed" and body["snooze_reason"] == "awaiting MRI slot"
    assert body["snoozed_until"].startswith("2026-03-25T00:00:00")
    assert body["escalate_at"] >= "2026-04-01"  # escalation waits for the snooze to end

    assigned = api.client.post(f"{url}/assign", json={"assignee": "sam"}, headers=auth).json()
    assert assigned["assigned_to"] == "sam"
    acked = api.client.post(f"{url}/acknowledge", json={"note": "plan agreed by phone"},
                            headers=api.auth("clinician")).json()
    assert acked["status"] == "acknowledged" and acked["escalate_at"] is None
    assert acked["acknowledged_by"] == api.actor("clinician")
    history = api.client.get(url, headers=auth).json()["history"]
    assert [h["action"] for h in history] == ["raised", "snoozed", "assigned", "acknowledged"]
    assert history[1]["actor"] == api.actor("coordinator")
    assert history[3]["detail"] == {"note": "plan agreed by phone"}


def test_snooze_needs_a_reason_and_a_future_day(api: ApiHarness) -> None:
    first, _ = _late_episodes(api)
    url = f"/v1/reminders/{first['reminders'][0]['id']}/snooze"
    auth = api.auth("coordinator")
    for body, field in (({"until": "2026-03-25", "reason": "  "}, "reason"),
                        ({"until": "2026-03-25"}, "reason"),
                        ({"until": "2026-03-25", "reason": "x" * 501}, "reason"),
                        ({"until": "2026-03-25", "reason": "ok", "x": 1}, "x"),
                        ({"until": "2026-03-22", "reason": "today (day 20)"}, "until"),
                        ({"until": "2026-03-01", "reason": "the past"}, "until"),
                        ({"until": "2028-01-01", "reason": "too far"}, "until")):
        response = api.client.post(url, json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field


def test_resolved_reminders_cannot_be_acted_on(api: ApiHarness) -> None:
    first, _ = _late_episodes(api)
    plan = next(r for r in first["reminders"] if r["kind"] == "plan_overdue")
    assert api.send(first["id"], "start_conservative_care", 20).status_code == 201
    url = f"/v1/reminders/{plan['id']}"
    auth = api.auth("coordinator")
    resolved = api.client.get(url, headers=auth).json()
    assert resolved["status"] == "resolved" and resolved["resolution"] == "milestone_met"
    for action, body in (("acknowledge", {}), ("snooze", {"until": "2026-04-01",
                                                         "reason": "later"}),
                         ("assign", {"assignee": "sam"})):
        response = api.client.post(f"{url}/{action}", json=body, headers=auth)
        assert response.status_code == 409, action
        problem = response.json()
        assert problem["type"] == "urn:pathway:problem:action-refused"
        assert problem["state"] == "resolved"
    assert [h["action"] for h in api.client.get(url, headers=auth).json()["history"]] == [
        "raised", "resolved"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _subscribed_episode(api: ApiHarness, receiver: Receiver) -> dict[str, Any]:
    """A webhook for plan_overdue on the loopback receiver, then an episode opened on day 20
    (its plan_overdue is raised at once: one webhook message queued)."""
    hook = api.client.post("/v1/webhooks", json={
        "url": receiver.url, "reminder_kinds": ["plan_overdue"], "secret": SECRET},
        headers=api.auth("admin"))
    assert hook.status_code == 201, hook.text
    api.clock.to_day(20)
    episode = api.open()
    return next(r for r in episode["reminders"] if r["kind"] == "plan_overdue")


def _deliver(api: ApiHarness) -> RoundResult:
    config = DeliveryConfig.from_settings(api.runtime.settings, worker="api-test")
    return deliver_until_idle(api.runtime, config, random.Random(3))


def test_every_delivery_attempt_shows_in_the_reminders_history(
    api: ApiHarness, receiver: Receiver,
) -> None:
    plan = _subscribed_episode(api, receiver)
    receiver.status = 500
    api.clock.now += dt.timedelta(minutes=1)
    assert _deliver(api).retrying == 1
    receiver.status = 200
    api.clock.now += dt.timedelta(minutes=5)
    assert _deliver(api).delivered == 1

    body = api.client.get(f"/v1/reminders/{plan['id']}", headers=api.auth("coordinator")).json()
    steps = [h for h in body["history"] if h["action"].startswith("delivery_")]
    assert [(h["action"], h["detail"]["channel"], h["detail"]["status_code"],
             h["detail"]["attempt"]) for h in steps] == [
        ("delivery_failed", "webhook", 500, 1), ("delivery_delivered", "webhook", 200, 2)]
    assert steps[0]["detail"]["error"].startswith("HTTP 500")
    assert steps[1]["detail"]["error"] is None
    assert steps[1]["at"] > steps[0]["at"] and all(h["actor"] == "system:scheduler"
                                                   for h in steps)


def test_a_reminder_resolved_before_delivery_shows_its_delivery_skipped(
    api: ApiHarness, receiver: Receiver,
) -> None:
    plan = _subscribed_episode(api, receiver)
    episode_id = plan["episode_id"]
    assert api.send(episode_id, "start_conservative_care", 20).status_code == 201
    api.clock.now += dt.timedelta(minutes=1)
    assert _deliver(api).skipped == 1
    assert receiver.requests == 0

    auth = api.auth("admin")
    history = api.client.get(f"/v1/reminders/{plan['id']}", headers=auth).json()["history"]
    assert [h["action"] for h in history] == ["raised", "resolved", "delivery_skipped"]
    assert history[2]["detail"]["reason"] == "reminder resolved"
    skipped = api.client.get("/v1/deliveries?status=skipped", headers=auth).json()["items"]
    assert [(d["reminder_id"], d["status"], d["attempts"]) for d in skipped] == [
        (plan["id"], "skipped", 0)]
    retry = api.client.post(f"/v1/deliveries/{skipped[0]['id']}/retry", headers=auth)
    assert retry.status_code == 409 and retry.json()["state"] == "skipped"
    metrics = api.client.get("/metrics", headers=auth).text
    assert 'pathway_deliveries_skipped_total{channel="webhook"} 1' in metrics


def test_the_schema_documents_the_delivery_steps_and_the_skipped_status(
    api: ApiHarness,
) -> None:
    schema = api.client.get("/openapi.json").json()
    action = schema["components"]["schemas"]["ReminderActionOut"]["properties"]["action"]
    assert all(f"`{name}`" in action["description"] for name in HISTORY_ACTIONS)
    assert set(HISTORY_ACTIONS) == {"delivery_delivered", "delivery_failed", "delivery_dead",
                                    "delivery_skipped"}
    [listing] = [p for p in schema["paths"]["/v1/deliveries"]["get"]["parameters"]
                 if p["name"] == "status"]
    assert "skipped" in str(listing["schema"])
