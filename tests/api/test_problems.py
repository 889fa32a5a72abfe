"""Errors are RFC 9457 problems everywhere: shape, fields named, limits, ranges, dates, 503."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.render import opaque
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import make_engine, make_sessionmaker
from tests.api.support import MAX_BODY, ApiHarness
from tests.builders import intake

PROBLEM = "application/problem+json"
BLANK = "about:blank"


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The response is a problem with `status` (and, if given, type `slug`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and isinstance(body["title"], str)
    if slug == BLANK:
        assert body["type"] == BLANK
    elif slug is not None:
        assert body["type"] == f"urn:pathway:problem:{slug}"
    return body


def test_unknown_route_and_wrong_method(api: ApiHarness) -> None:
    assert_problem(api.client.get("/v1/nothing-here", headers=api.auth()), 404, BLANK)
    wrong = api.client.put("/v1/episodes", headers=api.auth())
    assert_problem(wrong, 405, BLANK)
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_validation_errors_name_the_field(api: ApiHarness) -> None:
    bad = intake(pain_score=11)
    body = assert_problem(api.client.post("/v1/episodes", json=bad, headers=api.auth()),
                          422, "validation-error")
    assert body["field"] == "pain_score"
    assert body["errors"][0]["field"] == "pain_score"
    patient = intake(patient={"mrn": "has space"})
    body = assert_problem(api.client.post("/v1/episodes", json=patient, headers=api.auth()),
                          422, "validation-error")
    assert body["field"] == "patient.mrn" and "has space" not in str(body)
    body = assert_problem(api.client.post("/v1/episodes", content=b"{not json",
                                          headers={**api.auth(),
                                                   "Content-Type": "application/json"}),
                          422, "validation-error")
    assert body["field"] == "body"


def test_event_data_errors_name_the_field(api: ApiHarness) -> None:
    ep = api.open()
    body = assert_problem(api.send(ep["id"], "record_reassessment", 0, pain_score=3,
                                   symptoms="improving"), 409, "transition-refused")
    assert body["state"] == "assessed"
    body = assert_problem(api.send(ep["id"], "start_conservative_care", 0, surprise=1), 422,
                          "invalid-data")
    assert body["field"] == "data.surprise"
    api.send(ep["id"], "start_conservative_care", 0)
    body = assert_problem(api.send(ep["id"], "record_reassessment", 0, pain_score=3,
                                   symptoms="meh"), 422, "invalid-data")
    assert body["field"] == "data.symptoms"
    body = assert_problem(api.send(ep["id"], "no_such_event", 0), 422, "validation-error")
    assert body["field"] == "event"


def test_refused_transition_names_state_and_allowed_events(api: ApiHarness) -> None:
    ep = api.open(red_flags=["malignancy_history"])
    body = assert_problem(api.send(ep["id"], "start_conservative_care", 0), 409,
                          "transition-refused")
    assert body["state"] == "assessed" and body["event"] == "start_conservative_care"
    assert "suspect_malignancy" in body["allowed_events"]
    assert "start_conservative_care" not in body["allowed_events"]
    assert "red flags" in body["reason"]


def test_dates_are_checked(api: ApiHarness) -> None:
    api.clock.to_day(10)
    ep = api.open()
    before_day0 = {"event": "start_conservative_care", "occurred_on": "2026-03-01"}
    future = {"event": "start_conservative_care", "occurred_on": "2026-03-14"}
    impossible = {"event": "start_conservative_care", "occurred_on": "2026-02-30"}
    ancient = {"event": "start_conservative_care", "occurred_on": "0001-01-01"}
    for payload, slug in ((before_day0, "invalid-data"), (future, "invalid-data"),
                          (impossible, "validation-error"), (ancient, "validation-error")):
        response = api.client.post(f"/v1/episodes/{ep['id']}/events", json=payload,
                                   headers=api.auth())
        assert assert_problem(response, 422, slug)["field"] == "occurred_on"
    tomorrow = {"event": "start_conservative_care", "occurred_on": "2026-03-13"}
    assert api.client.post(f"/v1/episodes/{ep['id']}/events", json=tomorrow,
                           headers=api.auth()).status_code == 201
    late_intake = intake(identified_on="2026-03-20")
    body = assert_problem(api.client.post("/v1/episodes", json=late_intake,
                                          headers=api.auth()), 422, "invalid-data")
    assert body["field"] == "identified_on"


OUT_OF_RANGE = [
    "/v1/episodes/0", "/v1/episodes/-1", "/v1/episodes/2147483648",
    "/v1/episodes/99999999999999999999999", "/v1/episodes/abc", "/v1/reminders/0",
    "/v1/pathway/versions/9999999999", "/v1/episodes/1/events/0",
]
MISSING = [
    "/v1/episodes/2147483647", "/v1/episodes/2147483647/events", "/v1/reminders/2147483647",
    "/v1/pathway/versions/2147483647", "/v1/webhooks/2147483647",
    "/v1/episodes/2147483647/fhir",
]


def test_ids_out_of_range_are_422_and_missing_ones_404(api: ApiHarness) -> None:
    for path in OUT_OF_RANGE:
        assert_problem(api.client.get(path, headers=api.auth()), 422, "validation-error")
    for path in MISSING:
        assert_problem(api.client.get(path, headers=api.auth()), 404, "not-found")


def test_query_parameters_are_checked(api: ApiHarness) -> None:
    for query, field in (("state=sleeping", "state"), ("limit=0", "limit"),
                         ("limit=100000", "limit"), ("cursor=garbage", "cursor"),
                         ("cursor=0|x|1", "cursor"), ("due_before=99999-01-01", "due_before"),
                         (f"cursor={opaque('0||99999999999999')}", "cursor"),
                         (f"cursor={opaque('0|9999-12-31T23:59:59-23:59|5')}", "cursor"),
                         (f"cursor={opaque('0|2026-01-01T00:00:00|5')}", "cursor")):
        body = assert_problem(api.client.get(f"/v1/episodes?{query}", headers=api.auth()), 422)
        assert body["field"] == field, query
    body = assert_problem(api.client.get("/v1/kpis?from=2026-05-01&to=2026-04-01",
                                         headers=api.auth()), 422, "invalid-data")
    assert body["field"] == "from"


def test_body_over_the_limit_is_413(api: ApiHarness) -> None:
    big = intake(patient={"mrn": "BIG1", "name": "x" * 100})
    big["padding"] = "y" * (MAX_BODY + 10)
    assert_problem(api.client.post("/v1/episodes", json=big, headers=api.auth()), 413,
                   "body-too-large")

    def chunks() -> Iterator[bytes]:  # streamed without Content-Length
        yield b'{"event": "close", "data": {"note": "'
        for _ in range(MAX_BODY // 1000 + 1):
            yield b"z" * 1000
        yield b'"}}'

    ep = api.open()
    streamed = api.client.post(f"/v1/episodes/{ep['id']}/events", content=chunks(),
                               headers={**api.auth(), "Content-Type": "application/json"})
    assert_problem(streamed, 413, "body-too-large")
    lying = api.client.post("/v1/episodes", content=b"{}", headers={
        **api.auth(), "Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1)})
    assert lying.status_code in {413, 400}


def test_text_the_database_cannot_store_is_422(api: ApiHarness) -> None:
    body = assert_problem(api.client.post("/v1/episodes", json=intake(
        patient={"mrn": "NUL1", "name": "a\x00b"}), headers=api.auth()), 422, "invalid-data")
    assert body["field"] == "patient.name"
    assert_problem(api.client.get("/v1/episodes?coordinator=a%00b", headers=api.auth()), 422)
    surrogate = b'{"event": "record_symptom_change", "data": {"text": "\\ud800"}}'
    ep = api.open()
    body = assert_problem(api.client.post(
        f"/v1/episodes/{ep['id']}/events", content=surrogate,
        headers={**api.auth(), "Content-Type": "application/json"}), 422, "invalid-data")
    assert body["field"] == "data.text"


def test_every_problem_is_documented(api: ApiHarness) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, code)
            if path != "/healthz":
                assert {"401", "403", "422", "503"} <= set(operation["responses"]), path


def test_database_unavailable_is_503(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/missing/dir/pathway.db"
    engine = make_engine(url)
    runtime = Runtime(settings=Settings(database_url=url), engine=engine,
                      sessions=make_sessionmaker(engine))
    with TestClient(create_app(runtime)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz", headers={"Authorization": "Bearer pw_x"})
        assert_problem(response, 503, "database-unavailable")
        assert int(response.headers["Retry-After"]) > 0


def test_unknown_query_parameters_are_refused(api: ApiHarness) -> None:
    body = assert_problem(api.client.get("/v1/episodes?stat=assessed", headers=api.auth()),
                          422, "invalid-data")
    assert body["field"] == "stat"
    assert api.client.get("/v1/episodes?state=assessed&limit=5",
                          headers=api.auth()).status_code == 200


def test_the_event_log_cannot_be_changed_through_the_api(api: ApiHarness) -> None:
    ep = api.open()
    base = f"/v1/episodes/{ep['id']}/events"
    for method, path in (("PUT", f"{base}/1"), ("PATCH", f"{base}/1"), ("DELETE", f"{base}/1"),
                         ("DELETE", base), ("PUT", base)):
        response = api.client.request(method, path, json={}, headers=api.auth("admin"))
        assert_problem(response, 405, BLANK)
    log = api.client.get(base, headers=api.auth()).json()["items"]
    assert [e["name"] for e in log] == ["open_episode"]
