"""The dashboard in a real browser: Debian's Chromium driven by Playwright against uvicorn.

One server (SQLite, demo data, a fixed clock) serves the module; each test has its own
browser context (its own cookies) and logs in. Screenshots of every page go to
test-artifacts/screenshots/. Any console error (a script error, a CSP violation) fails the test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pathway.episodes import open_episode
from pathway.store.db import transaction
from pathway.synthetic.demo import make_demo
from tests.builders import intake
from tests.dashboard.conftest import SHOTS
from tests.dashboard.support import PASSWORD, LiveServer, add_users, make_app, make_runtime
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.browser

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2026, 9, 18, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()


@dataclass
class Site:
    """The running dashboard and the episodes the tests act on (MRN -> episode id)."""

    server: LiveServer
    episodes: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.server.url + path


@pytest.fixture(scope="module")
def site(database_factory: DatabaseFactory) -> Iterator[Site]:
    db = database_factory.sqlite()
    runtime = make_runtime(db, lambda: NOW)
    add_users(db, NOW)
    episodes = {}
    with transaction(db.sessions) as session:
        make_demo(session, episodes=30, now=NOW, zone=UTC)
        for mrn, age in (("ACK0001", 20), ("MOVE0001", 1), ("STALE0001", 1)):
            day0 = (TODAY - dt.timedelta(days=age)).isoformat()
            episode = open_episode(session, intake=intake(patient={"mrn": mrn, "name": mrn.title()},
                                                          identified_on=day0, coordinator="coord"),
                                   actor="test", now=NOW, zone=UTC)
            episodes[mrn] = episode.id
    server = LiveServer.start(make_app(runtime))
    yield Site(server, episodes)
    server.stop()
    database_factory.drop(db)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


#: A refused or invalid form comes back as a page with status 409 or 422, which Chromium also
#: logs; every other console error fails the test.
EXPECTED = re.compile(r"^Failed to load resource: .* status of (409|422) ")


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab whose console errors (script errors, CSP violations) fail the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error" and not EXPECTED.match(msg.text) else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    assert errors == [], errors


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, site: Site, username: str = "coord") -> None:
    page.goto(site.url("/login"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()


def nav(page: Page, name: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def open_episode_page(page: Page, site: Site, mrn: str) -> None:
    page.goto(site.url(f"/episodes/{site.episodes[mrn]}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(mrn)


def test_login_and_the_overdue_worklist(page: Page, site: Site) -> None:
    page.goto(site.url("/"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    shot(page, "01-login")
    # Keyboard only: the user name has focus, Tab to the password, Enter submits.
    page.keyboard.type("coord")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    rows = page.locator("table.worklist tbody tr")
    expect(rows.first).to_contain_text("overdue")
    # Most pressing first: within a priority, the most overdue first.
    ranks = {"Stat": 0, "Urgent": 1, "Routine": 2}
    keys = []
    for text in rows.all_inner_texts()[:8]:
        flag = next((r for r in ranks if r in text.split()), None)
        days = re.findall(r"overdue (\d+) days?", text)
        keys.append((ranks.get(flag or "", 3), -int(days[0]) if days else 0))
    assert keys == sorted(keys), keys
    page.get_by_text("More filters").click()
    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"overdue=1"))
    for text in rows.all_inner_texts():
        assert "overdue" in text
    shot(page, "02-worklist")
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    shot(page, "02b-worklist-tablet")


def test_open_an_episode_acknowledge_and_snooze(page: Page, site: Site) -> None:
    log_in(page, site)
    page.get_by_label("Name or MRN").fill("ack0")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Ack0001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ACK0001")
    expect(page.locator("#timeline-chart[data-ready=true]")).to_be_attached()
    expect(page.locator("#milestones")).to_contain_text("overdue")
    shot(page, "03-episode")

    reminders = page.locator("#reminders article.reminder")
    first, second = reminders.nth(0), reminders.nth(1)
    first_id, second_id = first.get_attribute("id"), second.get_attribute("id")
    first.get_by_label("Acknowledge note").fill("Plan agreed with the ward <b>today</b>")
    first.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".flash")).to_contain_text("acknowledged")
    acked = page.locator(f"#{first_id}")
    expect(acked.locator(".flash")).to_be_visible()  # the confirmation is at the reminder
    expect(acked.locator("[data-status]")).to_have_text("Acknowledged")
    expect(acked).to_contain_text("Plan agreed with the ward <b>today</b>")  # shown as text

    snoozed = page.locator(f"#{second_id}")
    snoozed.get_by_label("Snooze until").fill((TODAY + dt.timedelta(days=5)).isoformat())
    snoozed.get_by_label("Reason").fill("Patient on holiday")
    snoozed.get_by_role("button", name="Snooze").click()
    expect(page.locator(".flash")).to_contain_text("snoozed")
    expect(page.locator(f"#{second_id} [data-status]")).to_have_text("Snoozed")
    expect(page.locator(f"#{second_id}")).to_contain_text("Snooze reason: Patient on holiday")
    shot(page, "04-reminder-actions")


def test_apply_allowed_events_and_see_the_state_change(page: Page, site: Site) -> None:
    log_in(page, site, "lead")  # a clinician: coordinators may not record events
    open_episode_page(page, site, "MOVE0001")
    expect(page.locator("#episode-state")).to_have_attribute("data-state", "assessed")
    page.locator("#form-start_conservative_care summary").click()
    page.get_by_role("button", name="Start conservative care").click()
    expect(page.locator("#episode-state")).to_have_attribute("data-state", "conservative_care")
    expect(page.locator(".flash")).to_contain_text("Assessed → Conservative care")

    form = page.locator("#form-record_reassessment")
    form.locator("summary").click()
    form.get_by_label(re.compile(r"pain score \(0–10\)", re.I)).fill("4")
    form.get_by_label(re.compile("symptoms", re.I)).select_option("persistent")
    form.get_by_role("button", name=re.compile("^Record reassessment$", re.I)).click()
    expect(page.locator("#episode-state")).to_have_attribute("data-state", "reassessed")
    expect(page.locator("#event-log tbody tr").first).to_contain_text("Lead")  # the person
    expect(page.locator("#event-log tbody tr").first).to_contain_text(
        re.compile("pain score: 4", re.I))
    shot(page, "05-event-applied")


def test_a_refused_event_is_explained(context: BrowserContext, page: Page, site: Site) -> None:
    log_in(page, site, "lead")
    open_episode_page(page, site, "STALE0001")
    page.locator("#form-start_conservative_care summary").click()
    # Meanwhile a colleague records the same event in another tab.
    other = context.new_page()
    open_episode_page(other, site, "STALE0001")
    other.locator("#form-start_conservative_care summary").click()
    other.get_by_role("button", name="Start conservative care").click()
    expect(other.locator("#episode-state")).to_have_attribute("data-state", "conservative_care")
    other.close()

    page.get_by_role("button", name="Start conservative care").click()
    refusal = page.get_by_role("alert").filter(has_text="was refused")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text(
        "Start conservative care is not allowed in state Conservative care")
    expect(refusal).to_contain_text("Nothing was changed.")
    expect(page.locator("#event-error")).to_be_focused()
    expect(page.locator("#episode-state")).to_have_attribute("data-state", "conservative_care")
    shot(page, "06-event-refused")


def test_reminders_page(page: Page, site: Site) -> None:
    log_in(page, site)
    nav(page, "Reminders")
    expect(page.get_by_role("heading", name="Open reminders")).to_be_visible()
    assert page.locator("article.reminder").count() > 0
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Filter").click()
    priorities = page.locator("article.reminder header .pill[class*=prio-]").all_inner_texts()
    assert priorities and set(priorities) == {"Urgent"}
    expect(page.locator("#dead-letters")).to_be_visible()
    shot(page, "07-reminders")


def test_kpi_page_and_pathway_diagram(page: Page, site: Site) -> None:
    log_in(page, site)
    nav(page, "KPIs")
    expect(page.locator("#kpi-bars[data-ready=true]")).to_be_attached()
    expect(page.locator("#kpi-trend[data-ready=true]")).to_be_attached()
    expect(page.locator("#kpi-table tbody tr")).to_have_count(7)
    expect(page.locator("#kpi-table .rag").first).to_be_visible()
    shot(page, "08-kpis")

    nav(page, "Pathway")
    diagram = page.locator("#diagram[data-ready=true] svg")
    expect(diagram).to_be_visible(timeout=20_000)
    expect(diagram).to_contain_text("Conservative care")
    expect(diagram).to_contain_text("Start conservative care")
    expect(page.locator("#bone-diagram[data-ready=true] svg")).to_contain_text("By day 14")
    expect(page.locator("#windows")).to_contain_text("Reassess treatment response")
    shot(page, "09-pathway")


def test_log_out(page: Page, site: Site) -> None:
    log_in(page, site)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".flash")).to_contain_text("logged out")
    shot(page, "10-logged-out")
    page.goto(site.url("/episodes/1"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
