"""The worklist's second pass in Chromium (issue 14): a dozen patients on the first screen at
1280x800, cards and no sideways scroll at 390 px, a stat patient first with the episode
page's banner on the first screen, the skip link to the first patient, and a confirmation
shown where the action was taken. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from pathway.episodes import apply_event, open_episode
from pathway.store.db import transaction
from pathway.synthetic.demo import make_demo
from tests.builders import intake
from tests.dashboard.conftest import SHOTS
from tests.dashboard.support import PASSWORD, LiveServer, add_users, make_app, make_runtime
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.browser

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2026, 9, 18, 9, 30, tzinfo=dt.UTC)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def site(database_factory: DatabaseFactory) -> Iterator[tuple[LiveServer, int]]:
    db = database_factory.sqlite()
    runtime = make_runtime(db, lambda: NOW)
    add_users(db, NOW)
    with transaction(db.sessions) as session:
        make_demo(session, episodes=40, now=NOW, zone=UTC)
        stat = open_episode(session, intake=intake(
            patient={"mrn": "STAT0001", "name": "Stella Stat"}, coordinator="coord",
            identified_on=NOW.date().isoformat()), actor="test", now=NOW, zone=UTC)
        apply_event(session, episode_id=stat.id, event="start_conservative_care", data={},
                    actor="test", now=NOW, zone=UTC)
        apply_event(session, episode_id=stat.id, event="record_neuro_change",
                    data={"findings": ["motor_weakness"]}, actor="test", now=NOW, zone=UTC)
    server = LiveServer.start(make_app(runtime))
    yield server, stat.id
    server.stop()
    database_factory.drop(db)


def _page(browser: Browser, server: LiveServer, viewport: dict[str, int]) -> Page:
    page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    page.goto(server.url + "/login")
    page.get_by_label("User name").fill("coord")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    return page


def _no_sideways_scroll(page: Page) -> None:
    width, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)
        .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
    assert width <= client, f"{page.url}: {width} px wide in {client}: {wide}"


def test_a_dozen_patients_on_the_first_screen_and_the_stat_one_first(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, _stat = site
    page = _page(browser, server, DESKTOP)
    rows = page.locator("table.worklist tbody tr")
    above = page.evaluate("""() => [...document.querySelectorAll('table.worklist tbody tr')]
        .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length""")
    assert above >= 12, above
    expect(rows.first).to_contain_text("Stella Stat")
    expect(rows.first.locator(".flag-stat")).to_be_visible()
    expect(rows.first).to_contain_text("Urgent surgical review")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "worklist-1280.png"))
    page.context.close()


def test_phone_cards_and_no_page_scrolls_sideways(browser: Browser,
                                                  site: tuple[LiveServer, int]) -> None:
    server, stat = site
    page = _page(browser, server, PHONE)
    first = page.locator("table.worklist tbody tr").first
    assert page.evaluate("getComputedStyle(document.querySelector("
                         "'table.worklist tbody tr')).display") == "block"  # a card
    assert first.bounding_box()["width"] <= PHONE["width"]  # type: ignore[index]
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "worklist-390.png"))
    for path, name in ((f"/episodes/{stat}", "episode-390"), ("/reminders", "reminders-390"),
                       ("/episodes/new", "intake-390")):
        page.goto(server.url + path)
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.context.close()


def test_the_stat_banner_is_on_the_episode_page_first_screen(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, stat = site
    page = _page(browser, server, DESKTOP)
    page.goto(f"{server.url}/episodes/{stat}")
    banner = page.get_by_role("alert").filter(has_text="Stat: act today")
    expect(banner).to_be_visible()
    box = banner.bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"]
    page.screenshot(path=str(SHOTS / "episode-stat-banner-1280.png"))
    page.context.close()


def test_the_skip_link_lands_on_the_first_patient_in_three_tabs(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, _stat = site
    page = _page(browser, server, DESKTOP)
    for _ in range(2):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the first patient"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "first-patient"
    assert page.evaluate("document.activeElement.textContent") == "Stella Stat"
    page.context.close()


def test_a_confirmation_is_shown_at_the_reminder_acted_on(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, stat = site
    page = _page(browser, server, DESKTOP)
    page.goto(f"{server.url}/episodes/{stat}")
    card = page.locator("article.reminder").filter(has_text="Urgent surgical review")
    card.get_by_role("button", name="Assign to me").click()
    message = page.locator(".flash")
    expect(message).to_contain_text("Urgent surgical review: assigned to you")
    assert page.evaluate("document.querySelector('.flash').closest('article') !== null")
    box = message.bounding_box()
    assert box is not None and 0 <= box["y"] <= DESKTOP["height"]  # in view, not at the top
    page.screenshot(path=str(SHOTS / "reminder-confirmation-1280.png"))
    page.context.close()


def test_sort_by_a_column_save_the_view_and_download_it(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, _stat = site
    page = _page(browser, server, DESKTOP)
    page.get_by_role("link", name="Patient", exact=True).click()
    header = page.locator("table.worklist thead th").first
    expect(header).to_have_attribute("aria-sort", "ascending")
    names = page.locator("table.worklist td.patient a").all_inner_texts()
    assert names == sorted(names), names
    page.get_by_text("Save this view").click()
    page.get_by_label("Name", exact=True).fill("By name")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("View “By name” saved.")
    expect(page.get_by_role("navigation", name="Saved views").get_by_role(
        "link", name="By name")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this view (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("mrn,name,levels,state")
    assert len(text.splitlines()) > 10
    page.screenshot(path=str(SHOTS / "worklist-sorted-1280.png"))
    page.context.close()


def test_bulk_acknowledge_two_reminders_with_one_confirmation(
        browser: Browser, site: tuple[LiveServer, int]) -> None:
    server, _stat = site
    for viewport, name in ((DESKTOP, "1280"), (PHONE, "390")):
        page = _page(browser, server, viewport)
        page.goto(server.url + "/reminders")
        boxes = page.locator("input[name=ids]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_role("button", name="Review…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledge 2 reminders?")
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / f"reminders-bulk-confirm-{name}.png"))
        page.get_by_role("button", name="Confirm: acknowledge 2").click()
        expect(page.locator(".flash")).to_contain_text("2 reminders acknowledged.")
        page.context.close()
