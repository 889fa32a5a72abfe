"""Reminders over HTTP: list and filter, acknowledge, snooze, assign, history, refusals."""

from __future__ import annotations

from typing import Any

from tests.api.support import ApiHarness


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
