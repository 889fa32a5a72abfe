"""Strict input (issue 17): dates only as `YYYY-MM-DD`, a key once per JSON object, and an API
caller authenticated before its body is judged (401 first)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import Response

from api.dashboard.event_forms import parse_date
from pathway.errors import InvalidData
from pathway.event_data import iso_date_only
from tests.api.support import MAX_BODY, ApiHarness
from tests.builders import intake

NOT_DATES = ["2026-01-01T00:00:00", "2026-01-01 00:00", "2026-01-01T00:00:00Z", "2026-1-1",
             " 2026-01-01", "2026-01-01\n", "２０２６-01-01"]
JSON = {"Content-Type": "application/json"}


def assert_refused(response: Response, field: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    assert field in body["detail"]
    return body


@pytest.mark.parametrize("text", NOT_DATES)
def test_only_four_two_two_digits_are_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        iso_date_only(text)
    assert iso_date_only("2026-01-01") == "2026-01-01"


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00", "2026-01-01 00:00"])
def test_a_datetime_is_not_a_date_anywhere_in_the_api(api: ApiHarness, text: str) -> None:
    post = api.client.post
    assert_refused(post("/v1/episodes", json=intake(identified_on=text), headers=api.auth()),
                   "identified_on")
    patient = {"mrn": "MRN990001", "name": "Test Patient", "birth_date": text}
    assert_refused(post("/v1/episodes", json=intake(patient=patient), headers=api.auth()),
                   "patient.birth_date")
    episode = api.open()["id"]
    events = f"/v1/episodes/{episode}/events"
    assert_refused(post(events, json={"event": "start_conservative_care", "occurred_on": text},
                        headers=api.auth()), "occurred_on")
    refused = post(events, json={"event": "record_therapy",
                                 "data": {"agent": "alendronate", "started_on": text}},
                   headers=api.auth())
    assert refused.status_code == 422, refused.text
    assert "started_on" in refused.json()["field"]
    for url, field in ((f"/v1/episodes?due_before={text}", "due_before"),
                       (f"/v1/kpis?from={text}", "from"), (f"/v1/kpis?to={text}", "to")):
        assert_refused(api.client.get(url, headers=api.auth()), field)


def test_a_date_as_yyyy_mm_dd_is_still_accepted(api: ApiHarness) -> None:
    patient = {"mrn": "MRN990002", "name": "Test Patient", "birth_date": "1950-02-03"}
    opened = api.open(patient=patient)
    assert opened["patient"]["birth_date"] == "1950-02-03"
    assert api.client.get("/v1/episodes?due_before=2026-12-31",
                          headers=api.auth()).status_code == 200


def _with_repeat(document: dict[str, Any], path: list[str], value: Any) -> bytes:
    """`document` as JSON text in which the key at `path` is given twice (`value` first)."""
    *parents, key = path
    text = json.dumps(document)
    inner = document
    for parent in parents:
        inner = inner[parent]
    original = json.dumps({key: inner[key]})[1:-1]
    return text.replace(original, f"{json.dumps(key)}: {json.dumps(value)}, {original}", 1)


@pytest.mark.parametrize(("path", "field"), [
    (["pain_score"], "pain_score"), (["patient", "mrn"], "patient.mrn")])
def test_a_repeated_key_is_refused_naming_it(api: ApiHarness, path: list[str],
                                              field: str) -> None:
    body = _with_repeat(intake(), path, 3 if field == "pain_score" else "MRN000000")
    assert body.count(json.dumps(path[-1])) == 2
    refused = assert_refused(api.client.post("/v1/episodes", content=body,
                                             headers={**JSON, **api.auth()}), field)
    assert refused["errors"] == [{"field": field, "detail": "duplicate key"}]
    listed = api.client.get("/v1/episodes", headers=api.auth()).json()
    assert listed["items"] == []


def test_a_repeated_key_in_event_data_is_refused(api: ApiHarness) -> None:
    episode = api.open()["id"]
    body = b'{"event": "record_reassessment", "data": {"pain_score": 4, "pain_score": 9}}'
    assert_refused(api.client.post(f"/v1/episodes/{episode}/events", content=body,
                                   headers={**JSON, **api.auth()}), "data.pain_score")


BAD_BODIES = {
    "malformed": b'{"patient": ',
    "repeated key": b'{"levels": ["L1"], "levels": ["L2"]}',
    "unstorable": b'{"cause": "osteo\\u0000porotic"}',
}


@pytest.mark.parametrize("kind", list(BAD_BODIES))
@pytest.mark.parametrize("credentials", ["none", "unknown", "not bearer"])
def test_an_unauthenticated_bad_body_gets_401_first(api: ApiHarness, kind: str,
                                                    credentials: str) -> None:
    headers = dict(JSON)
    if credentials == "unknown":
        headers["Authorization"] = "Bearer pw_not-a-key"
    elif credentials == "not bearer":
        headers["Authorization"] = f"Basic {api.keys['admin']}"
    response = api.client.post("/v1/episodes", content=BAD_BODIES[kind], headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "urn:pathway:problem:unauthenticated"


def test_an_unauthenticated_body_over_the_limit_gets_401(api: ApiHarness) -> None:
    big = json.dumps({**intake(), "pad": "x" * MAX_BODY}).encode()
    assert api.client.post("/v1/episodes", content=big, headers=JSON).status_code == 401
    assert api.client.post("/v1/episodes", content=big, headers=api.auth()).status_code == 413


def test_an_authenticated_bad_body_is_refused_as_before(api: ApiHarness) -> None:
    headers = {**JSON, **api.auth()}
    malformed = api.client.post("/v1/episodes", content=BAD_BODIES["malformed"],
                                headers=headers)
    assert_refused(malformed, "body")
    assert malformed.json()["type"] == "urn:pathway:problem:validation-error"
    assert_refused(api.client.post("/v1/episodes", content=BAD_BODIES["unstorable"],
                                   headers=headers), "cause")
    assert_refused(api.client.post("/v1/episodes", content=BAD_BODIES["repeated key"],
                                   headers=headers), "levels")


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00", "2026-01-01 00:00", "01/01/2026"])
def test_the_dashboards_forms_refuse_what_is_not_a_date(text: str) -> None:
    with pytest.raises(InvalidData, match="until: must be a date"):
        parse_date("until", text)
    assert str(parse_date("until", "2026-01-01")) == "2026-01-01"


@pytest.mark.parametrize("text", ["20260101", "2026-W01-1"])
def test_the_dashboards_forms_refuse_other_iso_forms(text: str) -> None:
    with pytest.raises(InvalidData):
        parse_date("until", text)
