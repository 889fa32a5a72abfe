"""`api.headers`: no-store and nosniff on every /v1 response, CSP and frame protection on
/docs, HSTS when secure cookies are on; each rule on responses of several kinds."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.docs import INITIALIZER
from api.headers import DOCS_CSP, HSTS, headers_for
from tests.api.support import MAX_BODY, ApiHarness, make_harness
from tests.builders import intake
from tests.support.databases import TestDatabase

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _v1_responses(api: ApiHarness) -> dict[str, Response]:
    """A /v1 response of each kind: success, created, and the refusals."""
    client, auth = api.client, api.auth()
    fracture = intake()
    created = client.post("/v1/episodes", json=fracture, headers=auth)
    return {
        "200": client.get(f"/v1/episodes/{created.json()['id']}", headers=auth),
        "201": created,
        "204": client.delete(f"/v1/webhooks/{_webhook(api)}", headers=auth),
        "401 no key": client.get("/v1/episodes"),
        "401 bad key": client.get("/v1/episodes", headers={"Authorization": "Bearer pw_nope"}),
        "404 episode": client.get("/v1/episodes/999999", headers=auth),
        "404 no route": client.get("/v1/nowhere", headers=auth),
        "405": client.put("/v1/episodes", headers=auth),
        "409": client.post("/v1/episodes", json=fracture, headers=auth),  # the same twice
        "413": client.post("/v1/episodes", content=b"{" + b" " * MAX_BODY + b"}",
                           headers={**auth, "Content-Type": "application/json"}),
        "422": client.post("/v1/episodes", json={"patient": {}}, headers=auth),
        "422 path": client.get("/v1/episodes/SMITH%20John", headers=auth),
    }


def _webhook(api: ApiHarness) -> int:
    created = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                    "event_names": ["*"]}, headers=api.auth())
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_every_v1_response_is_no_store_and_nosniff(api: ApiHarness) -> None:
    responses = _v1_responses(api)
    statuses = {kind: r.status_code for kind, r in responses.items()}
    assert statuses == {kind: int(kind[:3]) for kind in responses}, statuses
    for kind, response in responses.items():
        assert response.headers.get("cache-control") == "no-store", kind
        assert response.headers.get("x-content-type-options") == "nosniff", kind
        assert "strict-transport-security" not in response.headers, kind


def test_docs_have_a_csp_and_frame_protection(api: ApiHarness) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DOCS_CSP
    assert "frame-ancestors 'none'" in DOCS_CSP
    assert "'unsafe-inline'" not in DOCS_CSP and "'unsafe-eval'" not in DOCS_CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http" not in DOCS_CSP  # same origin only: no CDN
    for asset in ("/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js",
                  "/openapi.json"):
        response = api.client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["x-content-type-options"] == "nosniff", asset
    missing = api.client.get("/docs/assets/none.js")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff"


def test_the_csp_allows_exactly_the_pages_inline_script(api: ApiHarness) -> None:
    scripts = _INLINE_SCRIPT.findall(api.client.get("/docs").text)
    assert scripts == [INITIALIZER]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in DOCS_CSP


def test_the_dashboard_keeps_its_own_headers(api: ApiHarness) -> None:
    login = api.client.get("/login")
    assert login.headers["content-security-policy"] != DOCS_CSP
    assert login.headers["x-frame-options"] == "DENY"
    assert "cache-control" not in api.client.get("/healthz").headers


@pytest.fixture
def https_api(db: TestDatabase) -> Iterator[ApiHarness]:
    """The app with secure cookies on (served over HTTPS)."""
    harness = make_harness(db, secure_cookies=True)
    with harness.client:
        yield harness


def test_hsts_on_every_response_when_secure_cookies_are_on(https_api: ApiHarness) -> None:
    client = https_api.client
    responses = {
        **_v1_responses(https_api),
        "docs": client.get("/docs"),
        "docs asset": client.get("/docs/assets/swagger-ui.css"),
        "healthz": client.get("/healthz"),
        "dashboard login": client.get("/login"),
        "dashboard redirect": client.get("/", follow_redirects=False),
        "static": client.get("/static/favicon.svg"),
        "unknown": client.get("/nowhere"),
    }
    for kind, response in responses.items():
        assert response.headers.get("strict-transport-security") == HSTS, kind
    assert responses["401 no key"].headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("path", "expected"), [
    ("/v1", {"Cache-Control", "X-Content-Type-Options"}),
    ("/v1/episodes/1", {"Cache-Control", "X-Content-Type-Options"}),
    ("/v10/episodes", set()),
    ("/docs", {"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"}),
    ("/docs/assets/swagger-ui.css", {"X-Content-Type-Options"}),
    ("/docsx", set()),
    ("/openapi.json", {"X-Content-Type-Options"}),
    ("/", set()),
])
def test_headers_for_each_path(path: str, expected: set[str]) -> None:
    assert set(headers_for(path, https=False)) == expected
    assert set(headers_for(path, https=True)) == expected | {"Strict-Transport-Security"}


def test_an_unexpected_error_is_a_problem_with_the_policy_headers(db: TestDatabase) -> None:
    """A 500 is rendered by Starlette's outermost error middleware, outside the header
    policy's layer: it still carries no-store and nosniff, and says nothing of the error."""
    harness = make_harness(db)
    app = harness.client.app

    def boom() -> None:
        raise RuntimeError("SMITH John MRN0042")  # a message that must not be shown

    app.router.add_api_route("/v1/boom", boom)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.json()["type"].endswith("internal-error")
    assert "MRN0042" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
