"""KPIs on a small cohort whose numbers are worked out by hand, through `GET /v1/kpis`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pathway.scan import raise_all_due
from tests.api.support import ApiHarness, make_harness
from tests.builders import at, open_at, send
from tests.support.databases import TestDatabase

TODAY = 400  # every window of the cohort has passed


def _cohort(api: ApiHarness) -> None:
    with api.db.sessions.begin() as s:
        a = open_at(s, coordinator="alex")  # everything on time, adherent at a year
        for day, event, data in [
            (1, "start_conservative_care", {}), (5, "record_therapy", {"agent": "alendronate"}),
            (30, "record_reassessment", {"pain_score": 5, "symptoms": "persistent"}),
            (58, "record_imaging", {"modality": "mri", "finding": "stable"}),
            (95, "review_augmentation", {"decision": "refer"}),
            (100, "record_contact", {"kind": "liaison_monitoring"}),
            (370, "record_contact", {"kind": "adherence_review", "adherent": True}),
        ]:
            send(s, a, event, day, **data)
        b = open_at(s, coordinator="alex")  # everything late or never done
        for day, event, data in [
            (1, "start_conservative_care", {}), (20, "record_therapy", {"agent": "denosumab"}),
            (50, "record_reassessment", {"pain_score": 6, "symptoms": "persistent"}),
            (70, "record_imaging", {"modality": "ct", "finding": "stable"}),
        ]:
            send(s, b, event, day, **data)
        c = open_at(s, coordinator="sam")  # early augmentation, declined therapy, late contact
        for day, event, data in [
            (1, "start_conservative_care", {}), (3, "decline_therapy", {"reason": "declined"}),
            (10, "refer_early_augmentation", {"reason": "hospital_admission"}),
            (120, "record_contact", {"kind": "liaison_monitoring"}),
        ]:
            send(s, c, event, day, **data)
        d = open_at(s, coordinator="sam", neuro_exam=["motor_weakness"])  # nothing recorded
        send(s, d, "refer_surgery", 0, reason="neurological_deficit")
        e = open_at(s, coordinator="alex")  # entered in error: left out of every KPI
        send(s, e, "close", 2, reason="entered_in_error")
        open_at(s, coordinator="alex", identified_on="2026-01-05", day=-56)  # outside the range
        raise_all_due(s, now=at(TODAY))


def _kpis(api: ApiHarness, query: str = "") -> dict[str, Any]:
    api.clock.to_day(TODAY)
    response = api.client.get(f"/v1/kpis?from=2026-03-01&to=2026-03-12{query}",
                              headers=api.auth("coordinator"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rates(report: dict[str, Any]) -> dict[str, tuple[int, int, str | None]]:
    return {k["key"]: (k["numerator"], k["denominator"], k["band"]) for k in report["kpis"]}


def test_kpis_of_a_known_cohort(api: ApiHarness) -> None:
    _cohort(api)
    report = _kpis(api)
    assert report["from"] == "2026-03-01" and report["to"] == "2026-03-12"
    assert report["episodes"] == 4
    assert _rates(report) == {
        "reassessment_on_time": (1, 2, "amber"),  # C left conservative care early
        "followup_imaging_on_time": (1, 2, "amber"),
        "augmentation_review_on_time": (1, 2, "amber"),  # B still waits for its review
        "osteoporosis_therapy_on_time": (2, 4, "amber"),  # A, C (declined) by day 14
        "osteoporosis_therapy_by_first_follow_up": (3, 4, "amber"),  # B by day 112 too
        "liaison_monitoring_on_time": (1, 4, "red"),
        "adherence_at_one_year": (1, 2, "amber"),  # A and B started therapy
    }
    titles = {k["key"]: k["title"] for k in report["kpis"]}
    assert titles["reassessment_on_time"] == "Reassessed by day 42"
    medians = {t["milestone"]: (t["met"], t["median_days"]) for t in report["timings"]}
    assert medians["reassessment"] == (2, 40.0)
    assert medians["osteoporosis_therapy"] == (2, 12.5)
    assert medians["liaison_monitoring"] == (2, 110.0)
    overdue = {o["kind"]: o for o in report["overdue_reminders"]}
    assert overdue["calcium_vitamin_d_overdue"]["count"] == 4
    assert overdue["calcium_vitamin_d_overdue"]["by_age"] == {
        "0-7": 0, "8-30": 0, "31-90": 0, "91+": 4}
    assert overdue["liaison_monitoring_overdue"]["count"] == 2  # B and D
    assert overdue["osteoporosis_therapy_overdue"]["count"] == 1  # D
    assert overdue["adherence_review_overdue"]["oldest_days"] == TODAY - 392


def test_kpis_per_coordinator(api: ApiHarness) -> None:
    _cohort(api)
    report = _kpis(api, "&coordinator=sam")
    assert report["episodes"] == 2 and report["coordinator"] == "sam"
    rates = _rates(report)
    assert rates["reassessment_on_time"] == (0, 0, None)  # nothing to rate
    assert rates["osteoporosis_therapy_on_time"] == (1, 2, "amber")
    assert rates["liaison_monitoring_on_time"] == (0, 2, "red")
    empty = _kpis(api, "&coordinator=nobody")
    assert empty["episodes"] == 0 and all(k["rate"] is None for k in empty["kpis"])


def test_a_report_is_reused_for_its_minutes_and_says_when_it_was_computed(
    api: ApiHarness,
) -> None:
    """`GET /v1/kpis` keeps a report for `PATHWAY_KPI_REPORT_SECONDS` (300): an episode opened
    meanwhile shows only once that has passed, and `computed_at` says which report it is.
    Another range, coordinator or day is another report."""
    _cohort(api)
    first = _kpis(api)
    assert first["computed_at"] == at(TODAY).isoformat().replace("+00:00", "Z")
    with api.db.sessions.begin() as s:
        open_at(s, coordinator="alex")  # a sixth episode with day 0 in the range
    api.clock.now += dt.timedelta(seconds=299)
    response = api.client.get("/v1/kpis?from=2026-03-01&to=2026-03-12",
                              headers=api.auth("coordinator"))
    assert response.json() == first  # the same report, computed 299 s ago
    other = api.client.get("/v1/kpis?from=2026-03-01&to=2026-03-12&coordinator=alex",
                           headers=api.auth("coordinator")).json()
    assert other["episodes"] == 3 and other["computed_at"] != first["computed_at"]
    api.clock.now += dt.timedelta(seconds=2)
    fresh = api.client.get("/v1/kpis?from=2026-03-01&to=2026-03-12",
                           headers=api.auth("coordinator")).json()
    assert fresh["episodes"] == first["episodes"] + 1
    assert fresh["computed_at"] > first["computed_at"]


def test_reports_are_computed_every_time_when_kept_for_zero_seconds(db: TestDatabase) -> None:
    api = make_harness(db, kpi_report_seconds=0)
    with api.client:
        _cohort(api)
        first = _kpis(api)
        with api.db.sessions.begin() as s:
            open_at(s, coordinator="alex")
        assert _kpis(api)["episodes"] == first["episodes"] + 1
