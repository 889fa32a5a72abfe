"""Listing and reading episodes: filters, most overdue first, cursor pages, the full view."""

from __future__ import annotations

from tests.api.support import ApiHarness


def _worklist(api: ApiHarness) -> dict[str, int]:
    """Episodes whose next deadlines differ: `late` is overdue, `fresh` is not."""
    api.clock.to_day(0)
    ids = {"fresh": api.open(coordinator="alex", identified_on="2026-03-02")["id"]}
    ids["late"] = api.open(coordinator="sam", identified_on="2026-02-20")["id"]
    ids["later"] = api.open(coordinator="sam", identified_on="2026-02-10")["id"]
    ids["care"] = api.open(coordinator="alex", identified_on="2026-02-25")["id"]
    assert api.send(ids["care"], "start_conservative_care", 0).status_code == 201
    ids["closed"] = api.open(coordinator="alex")["id"]
    assert api.send(ids["closed"], "close", 0, reason="withdrawn").status_code == 201
    return ids


def _ids(api: ApiHarness, query: str) -> list[int]:
    response = api.client.get(f"/v1/episodes{query}", headers=api.auth("coordinator"))
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_most_overdue_first_and_filters(api: ApiHarness) -> None:
    ids = _worklist(api)
    everything = _ids(api, "")
    # Day 0 is 2026-03-02: `later` fell overdue first, then `late`; `closed` has nothing due.
    assert everything[:2] == [ids["later"], ids["late"]]
    assert everything[-1] == ids["closed"] and len(everything) == 5
    assert _ids(api, "?overdue=true") == [ids["later"], ids["late"]]
    assert set(_ids(api, "?coordinator=sam")) == {ids["late"], ids["later"]}
    assert _ids(api, "?state=conservative_care") == [ids["care"]]
    assert _ids(api, "?state=closed") == [ids["closed"]]
    assert _ids(api, "?due_before=2026-02-27") == [ids["later"], ids["late"]]
    mrn = api.client.get(f"/v1/episodes/{ids['care']}", headers=api.auth()).json()["mrn"]
    assert _ids(api, f"?mrn={mrn}") == [ids["care"]]
    assert _ids(api, "?mrn=NOBODY") == []


def test_cursor_pages_cover_everything_once(api: ApiHarness) -> None:
    _worklist(api)
    everything = _ids(api, "")
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(f"/v1/episodes{query}", headers=api.auth()).json()
        assert len(page["items"]) <= 2
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything


def test_the_full_view(api: ApiHarness) -> None:
    api.clock.to_day(20)
    episode = api.open()
    assert episode["day"] == 20 and episode["pathway_version"] == 2
    assert episode["allowed_events"][:4] == [
        "start_conservative_care", "suspect_malignancy", "refer_surgery", "close"]
    milestones = {m["kind"]: m for m in episode["milestones"]}
    assert milestones["plan_decision"]["overdue"] is True
    assert milestones["plan_decision"]["days_overdue"] == 17
    assert milestones["liaison_monitoring"]["overdue"] is False
    assert milestones["liaison_monitoring"]["due_on"] == "2026-05-25"  # day 84
    assert milestones["liaison_monitoring"]["overdue_on"] == "2026-06-22"  # day 112
    assert {r["kind"] for r in episode["reminders"]} == {
        "plan_overdue", "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"}
    assert episode["patient"]["mrn"] == episode["mrn"]
    assert episode["intake"]["levels"] == ["L1"]
    one = api.client.get(f"/v1/events-are-not-here/{episode['id']}", headers=api.auth())
    assert one.status_code == 404
    event = api.client.get(f"/v1/episodes/{episode['id']}/events/1", headers=api.auth()).json()
    assert event["name"] == "open_episode" and event["actor"] == api.actor("integration")
    assert api.client.get(f"/v1/episodes/{episode['id']}/events/2",
                          headers=api.auth()).status_code == 404
