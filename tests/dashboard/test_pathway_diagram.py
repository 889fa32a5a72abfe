"""The /pathway diagrams in a real browser, as a clinical lead reads them.

Debian's Chromium, driven by Playwright, against the app under uvicorn (SQLite, no episodes
needed) with the page's Content-Security-Policy in force: any console error (a script error,
a CSP violation) fails the test. Checked: the text in both drawings is at least 12 px on the
screen at 1280 px (the font size times the SVG's scale, so a drawing shrunk to fit fails),
reads in human names (no code names, no guard names), both tracks are titled, and at 390 px
the page does not scroll sideways (a drawing may scroll inside its own box). Screenshots go to
test-artifacts/pathway-1280.png and test-artifacts/pathway-390.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.dashboard.security import DIAGRAM_CSP
from pathway.diagram import BONE_TITLE, CARE_TITLE
from tests.dashboard.conftest import watched_tab
from tests.dashboard.support import PASSWORD, LiveServer, add_users, make_app, make_runtime
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.browser

NOW = dt.datetime(2026, 9, 18, 9, 30, tzinfo=dt.UTC)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: What must never show in a label: code names and the machine's guard names.
CODE = re.compile(r"_|guard|\bis_|cond", re.IGNORECASE)

#: Every piece of text in the drawings, with its size on the screen: the computed font size
#: times the scale from the SVG's user space to the screen (its viewBox may shrink it).
TEXTS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll("[data-diagram] svg")) {
    const walk = document.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const node = walk.currentNode;
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || el.closest("style")) continue;
      const host = el.closest("foreignObject") || el.closest("text") || svg;
      const m = host.getScreenCTM();
      const scale = m ? Math.hypot(m.a, m.b) : 1;
      const size = parseFloat(getComputedStyle(el).fontSize);
      // Spacing characters that keep a range on one line read as plain spaces here.
      const plain = text.replace(/\u2060/g, "").replace(/\u00a0/g, " ");
      out.push({ box: svg.closest("[data-diagram]").id, text: plain, px: size * scale });
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(database_factory: DatabaseFactory) -> Iterator[LiveServer]:
    db = database_factory.sqlite()
    add_users(db, NOW)
    live = LiveServer.start(make_app(make_runtime(db, lambda: NOW)))
    yield live
    live.stop()
    database_factory.drop(db)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A 1280 px tab whose console errors (script errors, CSP violations) fail the test."""
    with watched_tab(browser) as tab:
        yield tab


def _open_pathway(page: Page, server: LiveServer, path: str = "/pathway") -> None:
    page.goto(server.url + "/login")
    page.get_by_label("User name").fill("coord")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    response = page.goto(server.url + path)
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == DIAGRAM_CSP
    for box in ("#diagram", "#bone-diagram"):
        expect(page.locator(f"{box}[data-ready=true] svg")).to_be_visible(timeout=20_000)


def _texts(page: Page) -> list[dict[str, Any]]:
    texts: list[dict[str, Any]] = page.evaluate(TEXTS)
    return texts


def test_the_diagrams_read_at_1280_px(page: Page, server: LiveServer) -> None:
    _open_pathway(page, server)
    page.screenshot(path=str(ARTIFACTS / "pathway-1280.png"), full_page=True)
    texts = _texts(page)
    assert {t["box"] for t in texts} == {"diagram", "bone-diagram"}
    smallest = min(texts, key=lambda t: t["px"])
    assert smallest["px"] >= 12, smallest
    code = [t["text"] for t in texts if CODE.search(t["text"])]
    assert code == []
    care = " ".join(t["text"] for t in texts if t["box"] == "diagram")
    bone = " ".join(t["text"] for t in texts if t["box"] == "bone-diagram")
    assert CARE_TITLE in care and BONE_TITLE in bone
    for words in ("Conservative care", "Start conservative care", "Reassessment",
                  "if symptoms resolved", "Reassessment day 28–42", "Augmentation referral",
                  "Close the episode"):
        assert words in care, words
    for words in ("By day 14", "Osteoporosis drug therapy", "By day 90", "DXA scan",
                  "By day 392", "Next denosumab dose", "182–210 days later"):
        assert words in bone, words
    # The drawings fit the page's width at 1280 px: no sideways scrolling needed to read them.
    for box in ("#diagram", "#bone-diagram"):
        assert page.eval_on_selector(box, "b => b.scrollWidth <= b.clientWidth"), box
    # The table of transitions (the drawing's accessible equivalent) is in human names.
    page.get_by_text("Every transition, as a table").click()
    table = page.locator("#transitions")
    expect(table).to_contain_text("Start conservative care")
    expect(table).to_contain_text("if symptoms not resolved")
    assert not CODE.search(table.locator("tbody").inner_text())


def test_version_one_has_no_fracture_liaison_milestones(page: Page, server: LiveServer) -> None:
    _open_pathway(page, server, "/pathway?version=1")
    bone = " ".join(t["text"] for t in _texts(page) if t["box"] == "bone-diagram")
    assert "Osteoporosis drug therapy" in bone and "DXA scan" not in bone


def test_the_page_does_not_scroll_sideways_at_390_px(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _open_pathway(page, server)
    page.screenshot(path=str(ARTIFACTS / "pathway-390.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.evaluate("document.documentElement.clientWidth"), wide
    assert min(t["px"] for t in _texts(page)) >= 12
