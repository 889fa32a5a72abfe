"""Webhook subscriptions, dead letters, the pathway as data, health, readiness and metrics."""

from __future__ import annotations

import re

from sqlalchemy import select

from pathway.outbox import DEAD, PENDING
from pathway.store.models import Delivery
from pathway.vocabulary import CareState
from pathway.webhooks import secret_bytes
from tests.api.support import ApiHarness

HOOK = "http://127.0.0.1:9/hook"


def test_webhook_subscriptions_crud(api: ApiHarness) -> None:
    auth = api.auth("admin")
    created = api.client.post("/v1/webhooks", json={
        "url": HOOK, "reminder_kinds": ["plan_overdue"], "event_names": ["close"]}, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(secret_bytes(body["secret"])) == 32
    assert created.headers["Location"] == f"/v1/webhooks/{body['id']}"
    assert body["created_by"] == api.actor("admin")
    given = api.client.post("/v1/webhooks", json={
        "url": HOOK, "event_names": ["*"], "secret": body["secret"]}, headers=auth).json()
    listed = api.client.get("/v1/webhooks", headers=auth).json()["items"]
    assert [s["id"] for s in listed] == [body["id"], given["id"]]
    assert all("secret" not in s for s in listed)
    one = api.client.get(f"/v1/webhooks/{body['id']}", headers=auth).json()
    assert one["reminder_kinds"] == ["plan_overdue"] and one["event_names"] == ["close"]

    assert api.client.delete(f"/v1/webhooks/{body['id']}", headers=auth).status_code == 204
    assert api.client.get(f"/v1/webhooks/{body['id']}", headers=auth).status_code == 404
    assert api.client.delete(f"/v1/webhooks/{body['id']}", headers=auth).status_code == 404
    assert [s["id"] for s in api.client.get("/v1/webhooks", headers=auth).json()["items"]] == [
        given["id"]]


def test_webhook_subscriptions_are_validated(api: ApiHarness) -> None:
    auth = api.auth("admin")
    for body, field in (
        ({"url": "ftp://example.org/x", "event_names": ["*"]}, "url"),
        ({"url": "not a url", "event_names": ["*"]}, "url"),
        ({"url": "http://user:pw@example.org/", "event_names": ["*"]}, "url"),
        ({"url": HOOK}, "reminder_kinds"),
        ({"url": HOOK, "event_names": ["explode"]}, "event_names.0"),
        ({"url": HOOK, "reminder_kinds": ["plan_overdue"], "secret": "plain-secret"}, "secret"),
        ({"url": HOOK, "reminder_kinds": ["plan_overdue"], "secret": "whsec_!!!!!!"},
         "secret"),
    ):
        response = api.client.post("/v1/webhooks", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.json()["field"] == field, body


def test_dead_letters_can_be_listed_and_retried(api: ApiHarness) -> None:
    auth = api.auth("admin")
    api.client.post("/v1/webhooks", json={"url": HOOK, "event_names": ["*"],
                                          "reminder_kinds": ["plan_overdue"]}, headers=auth)
    api.clock.to_day(5)
    api.open()  # raises plan_overdue: one webhook delivery queued
    with api.db.sessions.begin() as session:
        row = session.scalars(select(Delivery)).first()
        assert row is not None
        row.status, row.attempts, row.last_error = DEAD, 8, "connection refused"
        delivery_id = row.id
    dead = api.client.get("/v1/deliveries?status=dead", headers=auth).json()["items"]
    assert [(d["id"], d["last_error"]) for d in dead] == [(delivery_id, "connection refused")]
    retried = api.client.post(f"/v1/deliveries/{delivery_id}/retry", headers=auth)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == PENDING and retried.json()["attempts"] == 0
    assert api.client.get("/v1/deliveries?status=dead", headers=auth).json()["items"] == []
    assert api.client.post("/v1/deliveries/2147483647/retry", headers=auth).status_code == 404
    assert api.client.get("/v1/deliveries?status=lost", headers=auth).status_code == 422


def test_pathway_as_data_with_its_diagram(api: ApiHarness) -> None:
    auth = api.auth("integration")
    current = api.client.get("/v1/pathway", headers=auth).json()
    assert current["version"] == 2 and current["current"] is True
    assert current["states"] == [s.value for s in CareState]
    assert current["definition"]["milestones"]["reassessment"]["overdue_days"] == 42
    assert current["events"]["record_imaging"]["from_states"] == ["reassessed"]
    schema = current["events"]["record_reassessment"]["data_schema"]
    assert set(schema["required"]) == {"pain_score", "symptoms"}
    assert current["events"]["record_therapy"]["kind"] == "fact"
    diagram = current["diagram"]
    assert diagram["format"] == "mermaid"
    source = diagram["source"]
    assert source.startswith("stateDiagram-v2") and "[*] --> assessed" in source
    arrows = re.findall(r"^\s+(\w+) --> (\w+) : (\w+)", source, re.MULTILINE)
    assert ("imaged", "imaged", "review_augmentation") in arrows
    assert ("pathologic_workup", "oncology_referral", "confirm_malignancy") in arrows
    assert {a[1] for a in arrows} | {"assessed"} == {s.value for s in CareState}
    versions = api.client.get("/v1/pathway/versions", headers=auth).json()
    assert versions["current"] == 2 and [v["version"] for v in versions["items"]] == [1, 2]
    assert api.client.get("/v1/pathway/versions/2", headers=auth).json()["title"] == (
        current["title"])
    first = api.client.get("/v1/pathway/versions/1", headers=auth).json()
    assert "dxa" in current["definition"]["milestones"]
    assert "dxa" not in first["definition"]["milestones"]  # version 1 kept as it was
    assert api.client.get("/v1/pathway/versions/3", headers=auth).status_code == 404


def test_health_readiness_and_metrics(api: ApiHarness) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/readyz").status_code == 401
    assert api.client.get("/readyz", headers=api.auth("coordinator")).json() == {
        "status": "ready"}
    api.clock.to_day(5)
    ep = api.open()
    api.send(ep["id"], "start_conservative_care", 5)
    api.send(ep["id"], "resolve", 5)
    api.client.get("/v1/episodes/2147483647", headers=api.auth())
    metrics = api.client.get("/metrics", headers=api.auth("admin"))
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "# TYPE pathway_http_requests_total counter" in text
    assert ('pathway_http_requests_total{method="POST",route="/v1/episodes/{episode_id}/events",'
            'status="201"} 2') in text
    assert ('pathway_http_requests_total{method="GET",route="/v1/episodes/{episode_id}",'
            'status="404"} 1') in text
    assert 'pathway_transitions_total{event="start_conservative_care"} 1' in text
    assert 'pathway_transitions_total{event="resolve"} 1' in text
    assert "pathway_episodes_opened_total 1" in text
    assert 'pathway_reminders_raised_total{kind="plan_overdue"} 1' in text
    assert 'pathway_episodes{state="resolved"} 1' in text
    for family in ("pathway_reminders_delivered_total", "pathway_delivery_failures_total",
                   "pathway_deliveries_dead"):
        assert f"# TYPE {family} " in text


def test_event_subscriptions_queue_deliveries(api: ApiHarness) -> None:
    hook = api.client.post("/v1/webhooks", json={
        "url": HOOK, "event_names": ["open_episode", "close"]}, headers=api.auth()).json()
    ep = api.open()
    api.send(ep["id"], "start_conservative_care", 0)
    api.send(ep["id"], "close", 0, reason="transferred")
    with api.db.sessions() as session:
        queued = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(d.topic, d.payload["event"]["name"], d.target) for d in queued] == [
            ("episode.event", "open_episode", str(hook["id"])),
            ("episode.event", "close", str(hook["id"]))]
        assert "mrn" not in str(queued[0].payload).lower()
