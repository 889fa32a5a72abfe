"""`/docs` in a real browser: the vendored Swagger UI renders the OpenAPI 3.1 document.

Debian's Chromium, driven by Playwright, against the real app under uvicorn (SQLite) with
the page's Content-Security-Policy in force: any console error (a script error, a CSP
violation, a request the policy blocked) fails the test. A screenshot goes to
test-artifacts/screenshots/docs.png.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from api.headers import DOCS_CSP
from tests.dashboard.conftest import SHOTS, watched_tab
from tests.dashboard.support import LiveServer, make_app, make_runtime
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.browser

NOW = dt.datetime(2026, 9, 18, 9, 30, tzinfo=dt.UTC)
OPEN_EPISODE = "Open an episode from an intake assessment"


@pytest.fixture(scope="module")
def server(database_factory: DatabaseFactory) -> Iterator[LiveServer]:
    db = database_factory.sqlite()
    live = LiveServer.start(make_app(make_runtime(db, lambda: NOW)))
    yield live
    live.stop()
    database_factory.drop(db)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A tab whose console errors and failed requests fail the test."""
    with watched_tab(browser, failed_requests=True) as tab:
        yield tab


def test_docs_render_every_operation_under_the_csp(page: Page, server: LiveServer) -> None:
    response = page.goto(server.url + "/docs")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == DOCS_CSP
    assert response.headers["x-frame-options"] == "DENY"
    expect(page.get_by_text(OPEN_EPISODE)).to_be_visible()
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 10
    expect(page.locator(".opblock-post").filter(has_text="/v1/episodes").first).to_be_visible()
    assert "Unable to render" not in page.content()
    page.screenshot(path=str(SHOTS / "docs.png"), full_page=False)


def test_try_it_out_reaches_the_api_from_the_same_origin(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/docs")
    health = page.locator(".opblock-get").filter(has_text="/healthz").first
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    status = health.locator(".live-responses-table tr.response .response-col_status")
    expect(status).to_have_text("200")
