"""Hostile input on every surface: each request is refused with a 4xx (a problem+json on the
API, a page or a redirect on the dashboard, never a 5xx), nothing stored changes (every
table's row count and checksum), and free text that is merely strange is stored exactly as
sent and shown escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pathway import access
from pathway.store.db import transaction
from tests.api.support import MAX_BODY, ApiHarness, make_harness
from tests.dashboard.support import PASSWORD, csrf_of
from tests.faults.hostile import FREE_TEXT, SCRIPT, all_cases, dashboard_cases
from tests.faults.invariants import snapshot
from tests.faults.ledger import Entry
from tests.support.databases import TestDatabase

PROBLEM = "application/problem+json"


@dataclass
class Surface:
    """The app on a test database, as an API client and as a logged-in admin's browser."""

    api: ApiHarness
    client: TestClient
    browser: TestClient
    episode: int
    reminder: int


@pytest.fixture
def surface(db: TestDatabase) -> Iterator[Surface]:
    api = make_harness(db)
    api.clock.to_day(20)  # opened late: its plan, therapy and calcium reminders are raised
    episode = api.open()
    with transaction(db.sessions) as session:
        access.create_user(session, username="boss", password=PASSWORD, role="admin",
                           now=api.clock())
    app = api.client.app
    with TestClient(app, raise_server_exceptions=False) as client, \
            TestClient(app, raise_server_exceptions=False) as browser:
        page = browser.get("/login")
        browser.post("/login", data={"username": "boss", "password": PASSWORD,
                                     "csrf_token": csrf_of(page.text)})
        yield Surface(api, client, browser, episode["id"], episode["reminders"][0]["id"])


def _problem_ok(response: Any, allowed: frozenset[int]) -> str | None:
    """Why an API answer is not an acceptable refusal, or None."""
    if response.status_code not in allowed:
        return f"status {response.status_code}: {response.text[:200]}"
    if response.headers.get("content-type") != PROBLEM:
        return f"content-type {response.headers.get('content-type')}"
    body = response.json()
    if body.get("status") != response.status_code or not body.get("type"):
        return f"not a problem document: {body}"
    return None


def test_hostile_requests_are_refused_and_change_nothing(surface: Surface, db: TestDatabase,
                                                         ledger: Entry) -> None:
    cases = all_cases(episode=surface.episode, reminder=surface.reminder, limit=MAX_BODY)
    before = snapshot(db.engine)
    failures = []
    for case in cases:
        response = surface.client.request(
            case.method, case.path, json=case.json, content=case.content,
            headers={**surface.api.auth(), **case.headers})
        why = _problem_ok(response, case.statuses)
        if why:
            failures.append(f"{case.name} ({case.method} {case.path[:60]}): {why}")
        elif SCRIPT in response.text:
            failures.append(f"{case.name}: the problem echoes the input")
    # Over the limit without a Content-Length: the guard counts the streamed chunks.
    chunks = (b"x" * 8192 for _ in range(MAX_BODY // 8192 + 2))
    streamed = surface.client.post(f"/v1/episodes/{surface.episode}/events", content=chunks,
                                   headers={**surface.api.auth(),
                                            "Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    if why := _problem_ok(streamed, frozenset({413})):
        failures.append(f"streamed body over the limit: {why}")
    assert failures == [], "\n".join(failures)
    assert snapshot(db.engine) == before
    ledger.tried(len(cases) + 1)
    ledger.check("tables compared", len(before))
    ledger.check("rows compared", sum(n for n, _digest in before.values()))


def test_hostile_pages_and_forms_fail_safely(surface: Surface, db: TestDatabase,
                                             ledger: Entry) -> None:
    cases = dashboard_cases(surface.episode, surface.reminder)
    before = snapshot(db.engine)
    failures = []
    for case in cases:
        if case.method == "GET":
            response = surface.browser.get(case.path, follow_redirects=False)
        else:
            token = csrf_of(surface.browser.get(f"/episodes/{surface.episode}").text)
            response = surface.browser.post(case.path, data={**case.form, "csrf_token": token},
                                            follow_redirects=False)
        shown = surface.browser.get("/").text if response.status_code == 303 else response.text
        if response.status_code >= 500:
            failures.append(f"{case.name}: {response.status_code} {response.text[:200]}")
        elif case.method == "POST" and response.status_code < 300:
            failures.append(f"{case.name}: accepted with {response.status_code}")
        elif SCRIPT in shown or "<img src=x" in shown:
            failures.append(f"{case.name}: the page shows the input unescaped")
    assert failures == [], "\n".join(failures)
    assert snapshot(db.engine) == before
    ledger.tried(len(cases))
    ledger.check("pages checked for escaping", len(cases))


def test_strange_free_text_is_stored_exactly_and_shown_escaped(surface: Surface,
                                                               ledger: Entry) -> None:
    api = surface.api
    texts = {}
    for text in FREE_TEXT:
        response = surface.client.post(
            f"/v1/episodes/{surface.episode}/events", headers=api.auth(),
            json={"event": "record_symptom_change", "data": {"text": text, "note": text[:2000]}})
        assert response.status_code == 201, (text[:40], response.text)
        texts[response.json()["event"]["seq"]] = text
    named = api.open(patient={"mrn": "HOSTILE1", "name": SCRIPT},
                     coordinator='"><img src=x onerror=alert(1)>')
    logged = surface.client.get(f"/v1/episodes/{surface.episode}/events",
                                headers=api.auth()).json()["items"]
    for item in logged:
        if item["seq"] in texts:
            assert item["data"]["text"] == texts[item["seq"]]  # exactly as sent
            assert item["data"]["note"] == texts[item["seq"]][:2000]
    pages = [f"/episodes/{surface.episode}", f"/episodes/{named['id']}", "/",
             "/?mrn=HOSTILE", "/reminders"]
    for path in pages:
        html = surface.browser.get(path).text
        assert SCRIPT not in html and "<img src=x" not in html, path
        assert "'; DROP TABLE" not in html or "&#39;; DROP TABLE" in html, path
        # No inline script: only external scripts and JSON data blocks.
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html,
                                re.S):
            assert "<" not in block, (path, block[:80])  # a script end tag cannot sneak in
    episode_page = surface.browser.get(f"/episodes/{surface.episode}").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in episode_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in surface.browser.get(
        f"/episodes/{named['id']}").text
    ledger.tried(len(FREE_TEXT) + 1)
    ledger.check("free texts round-tripped", len(texts))
    ledger.check("pages checked for escaping", len(pages))
