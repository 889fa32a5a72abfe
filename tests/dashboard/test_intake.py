"""The intake form (`api.dashboard.intake_pages`): opening an episode from the dashboard with
the API's validation, every error beside its field, refusals explained, nothing written on
error, CSRF; and in Chromium at a desktop's and a phone's width."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from pathway.permissions import Action, may
from pathway.store.db import transaction
from pathway.store.models import AccessRecord, Episode, EventRecord, Patient
from tests.api.support import Clock
from tests.builders import DAY0, at, open_at
from tests.dashboard.conftest import SHOTS, Board
from tests.dashboard.support import (
    PASSWORD,
    LiveServer,
    add_users,
    csrf_of,
    login,
    make_app,
    make_runtime,
    post_form,
)
from tests.support.databases import TestDatabase

TODAY = DAY0 + dt.timedelta(days=20)  # the board's clock


def _form(**overrides: Any) -> dict[str, Any]:
    """A valid intake as the form posts it, with fields overridden (None leaves one out)."""
    data: dict[str, Any] = {
        "mrn": "NEW0001", "name": "Ann Example", "birth_date": "1948-05-17",
        "identified_on": (TODAY - dt.timedelta(days=2)).isoformat(), "injury_on": "",
        "levels": ["T12", "L1"], "cause": "osteoporotic", "neuro_status": "intact",
        "red_flags": [], "pain_score": "7", "imaging_modality": "xray",
        "imaging_on": (TODAY - dt.timedelta(days=2)).isoformat(), "imaging_finding": "",
        "coordinator": "boss",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _post(board: Board, **overrides: Any) -> Any:
    return post_form(board.client, "/episodes/new", "/episodes/new", _form(**overrides))


def _count(board: Board, model: type[Any]) -> int:
    with board.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _written(board: Board) -> tuple[int, int, int]:
    return _count(board, Episode), _count(board, Patient), _count(board, EventRecord)


def _existing(board: Board, **overrides: Any) -> Episode:
    with transaction(board.db.sessions) as session:
        return open_at(session, day=20, **overrides)


def _field_error(html: str, name: str) -> str:
    """The error shown beside input `name`, checking the input points at it."""
    found = re.search(rf'<p class="error-text field-error" id="e-{name}">([^<]*)</p>', html)
    assert found, f"no error beside {name}"
    assert re.search(rf'id="f-{name}"[^>]*aria-describedby="[^"]*\be-{name}"', html), name
    return found.group(1)


def test_a_coordinator_opens_an_episode_through_the_form(board: Board) -> None:
    login(board.client)
    page = board.client.get("/episodes/new")
    assert page.status_code == 200
    assert re.search(r'href="/episodes/new" aria-current="page">New episode<', page.text)
    assert f'name="identified_on" type="date" value="{TODAY.isoformat()}"' in page.text
    assert re.search(r'<option value="coord" selected>', page.text)  # the viewer coordinates
    assert '<option value="boss"' in page.text and '<option value="lead"' not in page.text
    response = _post(board, red_flags=["malignancy_history"], instability="yes")
    assert response.status_code == 303
    episode_id = int(response.headers["location"].rsplit("/", 1)[1])
    shown = board.client.get(response.headers["location"])
    assert shown.status_code == 200
    assert "Episode opened for NEW0001." in shown.text
    assert re.search(r'id="event-log".*<td class="num">1</td>', shown.text, re.S)
    with board.db.sessions() as session:
        opening = session.scalars(select(EventRecord).where(
            EventRecord.episode_id == episode_id)).one()
        assert (opening.name, opening.actor, opening.target_state) == (
            "open_episode", "user:coord", "assessed")
        episode = session.get(Episode, episode_id)
        assert episode is not None
        assert (episode.levels, episode.coordinator, episode.state) == (
            ["T12", "L1"], "boss", "assessed")
        assert episode.intake["red_flags"] == ["malignancy_history"]
        assert episode.intake["instability"] is True
        assert episode.intake["initial_imaging"]["modality"] == "xray"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"birth_date": "17/05/1948"}, "birth_date", "Birth date: must be a date as YYYY-MM-DD"),
    ({"birth_date": "1948-02-30"}, "birth_date", "Birth date: must be a real date"),
    ({"levels": None}, "levels", "Levels: choose at least 1"),
    ({"levels": ["L1", "X9"]}, "levels", "Levels: unknown level &#39;X9&#39;"),
    ({"coordinator": "ghost"}, "coordinator", "Coordinator: is not an active coordinator"),
    ({"coordinator": "lead"}, "coordinator", "Coordinator: is not an active coordinator"),
    ({"mrn": "A B"}, "mrn", "MRN: may hold only letters, digits"),
    ({"mrn": ""}, "mrn", "MRN: is required"),
    ({"pain_score": "seven"}, "pain_score", "Pain score: must be a whole number"),
    ({"pain_score": "11"}, "pain_score", "Pain score: input should be less than or equal to 10"),
    ({"neuro_status": None}, "neuro_status", "Neurological exam: is required"),
    ({"neuro_status": "findings"}, "neuro_findings", "Neurological findings: choose at least 1"),
    ({"identified_on": (TODAY + dt.timedelta(days=5)).isoformat()}, "identified_on",
     "Identified on (day 0): must not be more than one day in the future"),
    ({"imaging_on": ""}, "imaging_on", "Imaging performed on: is required"),
])
def test_an_invalid_form_is_shown_again_with_the_fields_error(
    board: Board, overrides: dict[str, Any], field: str, message: str,
) -> None:
    login(board.client)
    before = _written(board)
    response = _post(board, name="Kept <Name>", **overrides)
    assert response.status_code == 422
    assert _written(board) == before
    html = response.text
    assert message in _field_error(html, field)
    summary = html.split('id="intake-errors"', 1)[1].split("</div>", 1)[0]
    assert f'href="#f-{field}"' in summary and message in summary
    assert 'value="Kept &lt;Name&gt;"' in html  # what was entered stays, escaped
    assert 'aria-invalid="true"' in html


def test_every_broken_field_is_named_at_once_and_ticks_are_kept(board: Board) -> None:
    login(board.client)
    response = _post(board, birth_date="1948/05/17", levels=None, pain_score=None,
                     red_flags=["imaging_suspicious"], coordinator="ghost")
    assert response.status_code == 422
    for field in ("birth_date", "levels", "pain_score", "coordinator"):
        _field_error(response.text, field)
    assert re.search(r'value="imaging_suspicious" checked', response.text)
    assert _written(board) == (0, 0, 0)


def test_a_duplicate_episode_links_to_the_existing_one(board: Board) -> None:
    existing = _existing(board, patient={"mrn": "DUP0001", "name": "Ann Example",
                                         "birth_date": "1948-05-17"},
                         levels=["L1"], identified_on=DAY0.isoformat())
    login(board.client)
    before = _written(board)
    response = _post(board, mrn="DUP0001", identified_on=DAY0.isoformat(), levels=["L1", "L2"])
    assert response.status_code == 409
    assert _written(board) == before
    assert f'href="/episodes/{existing.id}" id="existing-episode"' in response.text
    assert "already has an open episode" in response.text and "level L1" in response.text
    with board.db.sessions() as session:  # naming the episode is a read of the patient's data
        read = session.scalars(select(AccessRecord).where(
            AccessRecord.episode_id == existing.id, AccessRecord.actor == "user:coord")).one()
        assert read.detail == {"via": "intake_duplicate"}


def test_an_identity_mismatch_is_refused(board: Board) -> None:
    _existing(board, patient={"mrn": "SAME0001", "name": "Ann Example",
                              "birth_date": "1948-05-17"})
    login(board.client)
    before = _written(board)
    response = _post(board, mrn="SAME0001", birth_date="1949-05-17",
                     identified_on=TODAY.isoformat())
    assert response.status_code == 409
    assert _written(board) == before
    assert "MRN SAME0001 is stored with a different birth date" in response.text
    assert "differs from what is stored" in _field_error(response.text, "birth_date")
    again = _post(board, mrn="SAME0001", name=" ann  EXAMPLE ", identified_on=TODAY.isoformat())
    assert again.status_code == 303  # the same patient: a later fracture is a new episode


def test_the_form_carries_a_csrf_token_and_a_post_without_it_is_refused(board: Board) -> None:
    login(board.client)
    page = board.client.get("/episodes/new").text
    form = page.split('action="/episodes/new"', 1)[1]
    assert csrf_of(form)
    for token in (None, "forged"):
        data = _form() | ({"csrf_token": token} if token else {})
        response = board.client.post("/episodes/new", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Form expired" in response.text
    assert _written(board) == (0, 0, 0)


@pytest.mark.parametrize("username", ["coord", "lead", "boss"])
def test_every_staff_role_reaches_the_form(board: Board, username: str) -> None:
    login(board.client, username)
    assert 'href="/episodes/new"' in board.client.get("/").text
    assert board.client.get("/episodes/new").status_code == 200


def test_a_role_without_open_episode_gets_the_403_page(
    board: Board, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("api.dashboard.web.may", lambda role, action: (
        action != Action.OPEN_EPISODE and may(role, action)))
    login(board.client, "lead")
    assert 'href="/episodes/new"' not in board.client.get("/").text
    page = board.client.get("/episodes/new")
    assert page.status_code == 403 and "cannot open episodes" in page.text
    token = csrf_of(board.client.get("/").text)
    refused = board.client.post("/episodes/new", data={**_form(), "csrf_token": token},
                                follow_redirects=False)
    assert refused.status_code == 403
    assert _written(board) == (0, 0, 0)


def test_logged_out_the_form_sends_to_the_login(board: Board) -> None:
    response = board.client.get("/episodes/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fepisodes%2Fnew"


# In Chromium: the form at a desktop's and a phone's width, an error, then an opening.


@pytest.fixture
def live(sqlite_db: TestDatabase) -> Iterator[LiveServer]:
    """The dashboard served by uvicorn on SQLite, the clock on TODAY (once: a browser test)."""
    add_users(sqlite_db, at(20))
    server = LiveServer.start(make_app(make_runtime(sqlite_db, Clock(at(20)))))
    yield server
    server.stop()


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.browser
def test_the_form_in_chromium_at_1280_and_390_pixels(browser: Browser, live: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url + "/login")
    page.get_by_label("User name").fill("coord")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New episode").click()
    expect(page.get_by_role("heading", name="Open an episode")).to_be_visible()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "intake-1280.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("MRN *").fill("PHONE0001")
    page.get_by_label("Birth date").fill("17/05/1948")
    page.get_by_label("intact").check()
    page.get_by_label("Pain score (0–10) *").fill("5")
    page.get_by_role("button", name="Open episode").click()
    summary = page.locator("#intake-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Birth date: must be a date as YYYY-MM-DD")
    expect(summary).to_contain_text("Levels: choose at least 1")
    expect(page.get_by_label("Birth date")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("MRN *")).to_have_value("PHONE0001")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "intake-390-errors.png"), full_page=True)

    page.get_by_label("Birth date").fill("1948-05-17")
    page.get_by_label("L1", exact=True).check()
    page.get_by_role("button", name="Open episode").click()
    expect(page.locator(".flash")).to_have_text("Episode opened for PHONE0001.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("PHONE0001")
    context.close()
    assert errors == []
