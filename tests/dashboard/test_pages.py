"""The dashboard's pages over HTTP (no browser): what they show, and that every write goes
through the core use cases with the logged-in user as actor."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from api.dashboard import kpi_pages, worklist
from pathway.definition import builtin_definition, parse_definition
from pathway.kpis import compute_kpis, monthly_kpis
from pathway.outbox import DEAD, PENDING
from pathway.store.db import transaction
from pathway.store.models import Delivery, Episode, EventRecord, Reminder
from pathway.store.versions import add_version
from tests.builders import DAY0, at, open_at, send
from tests.dashboard.conftest import Board
from tests.dashboard.support import login, post_form


def _open(board: Board, day0: dt.date = DAY0, **overrides: object) -> Episode:
    """An episode with day 0 on `day0`, opened at the board's clock (day 20)."""
    with transaction(board.db.sessions) as session:
        return open_at(session, day=20, identified_on=day0.isoformat(), **overrides)


def _rows(html: str) -> list[str]:
    """The MRNs of the worklist's rows, in order."""
    return re.findall(r'<small>MRN ([^ <]+) ·', html)


def _reminder_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r"/reminders/(\d+)/acknowledge", html)]


def test_worklist_shows_open_episodes_most_overdue_first_with_counts(board: Board) -> None:
    late = _open(board, DAY0 - dt.timedelta(days=10), patient={"mrn": "LATE1", "name": "A"})
    fresh = _open(board, DAY0 + dt.timedelta(days=19), patient={"mrn": "FRESH1"})
    closed = _open(board, patient={"mrn": "GONE1"})
    with transaction(board.db.sessions) as session:
        send(session, closed, "close", 20, reason="transferred")
    login(board.client)
    html = board.client.get("/").text
    assert _rows(html) == ["LATE1", "FRESH1"]  # closed episodes are not on the worklist
    late_row = html.split("LATE1", 1)[1].split("</tr>", 1)[0]
    assert "30 days" not in late_row and re.search(r">\s*30\s*<", late_row)  # day number
    assert "overdue 27 days" in late_row  # plan decision overdue on day 3, today is day 30
    assert "Plan decision" in late_row and "L1" in late_row
    fresh_row = html.split("FRESH1", 1)[1].split("</tr>", 1)[0]
    assert "overdue in 2 days" in fresh_row  # day 1 of 3 for its plan decision
    assert re.search(r"Assessed <b>2</b>", html) and re.search(r"Closed <b>1</b>", html)
    assert re.search(r"Plan decision overdue <b>1</b>", html)
    assert late.id != fresh.id


def test_worklist_counts_are_kept_briefly_and_the_rows_stay_live(board: Board) -> None:
    _open(board, patient={"mrn": "COUNT1"})
    login(board.client)
    assert re.search(r"Assessed <b>1</b>", board.client.get("/").text)
    _open(board, patient={"mrn": "COUNT2"})
    html = board.client.get("/").text
    assert sorted(_rows(html)) == ["COUNT1", "COUNT2"]  # the rows are read live
    assert re.search(r"Assessed <b>1</b>", html)  # the counts are the kept ones
    assert "(as of " in html  # the counts say when they were taken
    board.client.app.state.dashboard.counts.seconds = 0  # type: ignore[attr-defined]
    assert re.search(r"Assessed <b>2</b>", board.client.get("/").text)


def test_worklist_filters_and_pages(board: Board, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worklist, "PAGE_SIZE", 2)
    for i in range(5):
        _open(board, DAY0 - dt.timedelta(days=i), patient={"mrn": f"PAGE{i}"},
              coordinator="coord" if i % 2 else "sam")
    _open(board, DAY0 + dt.timedelta(days=19), patient={"mrn": "NOTLATE"})
    login(board.client)

    seen: list[str] = []
    url: str | None = "/"
    while url:
        html = board.client.get(url).text
        seen += _rows(html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ["PAGE4", "PAGE3", "PAGE2", "PAGE1", "PAGE0", "NOTLATE"]

    assert _rows(board.client.get("/?mrn=PAGE3").text) == ["PAGE3"]
    assert _rows(board.client.get("/?mrn=page3").text) == ["PAGE3"]  # any case
    assert _rows(board.client.get("/?mrn=%25").text) == []  # a LIKE wildcard is just text
    assert _rows(board.client.get("/?overdue=1&mrn=NOT").text) == []
    assert _rows(board.client.get("/?mine=1").text) == ["PAGE3", "PAGE1"]
    assert _rows(board.client.get("/?coordinator=sam").text) == ["PAGE4", "PAGE2"]
    assert _rows(board.client.get("/?kind=plan_overdue&mrn=NOT").text) == []
    assert _rows(board.client.get("/?kind=osteoporosis_therapy_overdue").text) == [
        "PAGE4", "PAGE3"]
    assert _rows(board.client.get("/?priority=urgent&mrn=PAGE0").text) == ["PAGE0"]
    assert _rows(board.client.get("/?state=closed").text) == []
    # Unknown filter values and a mangled cursor are ignored, never a 500.
    odd = board.client.get("/?state=bogus&kind=nope&after=garbage&page=9")
    assert odd.status_code == 200 and _rows(odd.text) == ["PAGE4", "PAGE3"]


def test_episode_page_shows_intake_timeline_reminders_and_allowed_events(board: Board) -> None:
    episode = _open(board, DAY0 - dt.timedelta(days=10), red_flags=["malignancy_history"])
    login(board.client, "lead")  # a clinician: the event forms are for those who may record
    html = board.client.get(f"/episodes/{episode.id}").text
    assert 'data-state="assessed"' in html and "History of malignancy" in html
    assert 'id="timeline-data"' in html and '"today": 30' in html
    assert re.search(r"Plan decision overdue</h3>", html) and "Why: " in html
    forms = re.findall(r'data-event="([a-z_]+)"', html)
    # Red flags: conservative care is not offered until malignancy is excluded.
    assert "start_conservative_care" not in forms
    assert {"suspect_malignancy", "refer_surgery", "close", "record_therapy"} <= set(forms)
    assert "Not allowed in this state:" in html and "Start conservative care" in html
    missing = board.client.get("/episodes/999999")
    assert missing.status_code == 404 and "no episode 999999" in missing.text


def test_an_allowed_event_moves_the_episode_with_the_user_as_actor(board: Board) -> None:
    episode = _open(board)
    login(board.client, "lead")
    response = post_form(board.client, f"/episodes/{episode.id}",
                         f"/episodes/{episode.id}/events",
                         {"event": "start_conservative_care", "data.note": "seen in clinic",
                          "occurred_on": (DAY0 + dt.timedelta(days=19)).isoformat()})
    assert response.status_code == 303
    html = board.client.get(response.headers["location"]).text
    assert 'data-state="conservative_care"' in html
    assert "Start conservative care recorded: Assessed → Conservative care." in html
    with board.db.sessions() as session:
        record = session.scalars(select(EventRecord).where(
            EventRecord.episode_id == episode.id).order_by(EventRecord.seq.desc())).first()
    assert record is not None
    assert (record.name, record.actor, record.occurred_on, record.data) == (
        "start_conservative_care", "user:lead", DAY0 + dt.timedelta(days=19),
        {"note": "seen in clinic"})


def test_a_refused_event_is_explained_and_changes_nothing(board: Board) -> None:
    episode = _open(board)
    login(board.client, "lead")
    token_page = f"/episodes/{episode.id}"
    first = post_form(board.client, token_page, f"/episodes/{episode.id}/events",
                      {"event": "start_conservative_care"})
    assert first.status_code == 303
    again = post_form(board.client, token_page, f"/episodes/{episode.id}/events",
                      {"event": "start_conservative_care"})
    assert again.status_code == 409
    assert 'id="event-error"' in again.text
    assert ("<b>Start conservative care</b> is not allowed in state <b>Conservative care</b>"
            in again.text)
    assert "Allowed now: Suspect malignancy, Reassessment" in again.text
    assert "Nothing was changed." in again.text
    with board.db.sessions() as session:
        assert session.get_one(Episode, episode.id).version == 2


def test_invalid_event_data_is_refused_naming_the_field(board: Board) -> None:
    episode = _open(board)
    login(board.client, "lead")
    page = f"/episodes/{episode.id}"
    post_form(board.client, page, f"/episodes/{episode.id}/events",
              {"event": "start_conservative_care"})
    cases = [
        ({"event": "record_reassessment", "data.pain_score": "11", "data.symptoms": "worse"},
         "data.pain_score"),
        ({"event": "record_reassessment", "data.pain_score": "six", "data.symptoms": "worse"},
         "data.pain_score: must be a whole number"),
        ({"event": "record_reassessment", "data.pain_score": "3"}, "data.symptoms"),
        ({"event": "record_therapy", "data.agent": "denosumab", "occurred_on": "2026-13-01"},
         "occurred_on: must be a date"),
        ({"event": "record_therapy", "data.agent": "denosumab", "occurred_on": "1999-01-01"},
         "occurred_on: must not be before"),
        ({"event": "no_such_event"}, "event: unknown event"),
    ]
    for data, expected in cases:
        response = post_form(board.client, page, f"/episodes/{episode.id}/events", data)
        assert response.status_code == 422, data
        assert expected in response.text, data
    with board.db.sessions() as session:
        assert session.get_one(Episode, episode.id).state == "conservative_care"


def test_acknowledge_snooze_and_assign_from_the_episode_page(board: Board) -> None:
    episode = _open(board)
    login(board.client)
    page = f"/episodes/{episode.id}"
    first, second, third = _reminder_ids(board.client.get(page).text)[:3]
    back = {"next": page + "#reminders"}
    ack = post_form(board.client, page, f"/reminders/{first}/acknowledge",
                    {"note": "plan agreed by phone", **back})
    # Back to the page, at the reminder acted on (its confirmation is shown there).
    assert ack.status_code == 303 and ack.headers["location"] == page + f"#reminder-{first}"
    until = (DAY0 + dt.timedelta(days=27)).isoformat()
    post_form(board.client, page, f"/reminders/{second}/snooze",
              {"until": until, "reason": "patient away", **back})
    post_form(board.client, page, f"/reminders/{third}/assign", {"assignee": "lead", **back})
    with board.db.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(Reminder).where(
            Reminder.id.in_([first, second, third])))}
    assert rows[first].status == "acknowledged" and rows[first].acknowledged_by == "user:coord"
    assert rows[first].acknowledge_note == "plan agreed by phone"
    assert rows[second].status == "snoozed" and rows[second].snooze_reason == "patient away"
    assert rows[third].assigned_to == "lead"

    # Bad input comes back as a message naming the field; nothing changes.
    for data, expected in (({"until": "", "reason": "x"}, "until: is required"),
                           ({"until": until, "reason": " "}, "reason: is required"),
                           ({"until": DAY0.isoformat(), "reason": "x"}, "until: must be a day")):
        response = post_form(board.client, page, f"/reminders/{third}/snooze",
                             {**data, **back})
        assert response.status_code == 303
        assert expected in board.client.get(page).text
    with board.db.sessions() as session:
        assert session.get_one(Reminder, third).status == "open"


def test_reminders_page_lists_by_status_and_retries_dead_letters(board: Board) -> None:
    episode = _open(board, patient={"mrn": "REM1"})
    login(board.client)
    ids = _reminder_ids(board.client.get(f"/episodes/{episode.id}").text)
    post_form(board.client, "/reminders", f"/reminders/{ids[0]}/acknowledge", {"note": "ok"})
    open_html = board.client.get("/reminders").text
    assert "REM1" in open_html and f"/reminders/{ids[0]}/acknowledge" not in open_html
    acked = board.client.get("/reminders?view=acknowledged").text
    assert f"/reminders/{ids[0]}/acknowledge" in acked
    assert board.client.get("/reminders?view=escalated").text.count("/acknowledge") == 0
    only = board.client.get("/reminders?kind=calcium_vitamin_d_overdue").text
    assert "Calcium and vitamin D overdue</h3>" in only and "Plan decision overdue</h3>" not in only

    with transaction(board.db.sessions) as session:
        dead = Delivery(delivery_key="test-dead-1", topic="reminder.raised", channel="webhook",
                        target="1", reminder_id=ids[0], payload={}, status=DEAD, attempts=8,
                        last_error="connection refused <b>", created_at=board.clock())
        session.add(dead)
    html = board.client.get("/reminders").text  # a coordinator sees it, may not retry it
    assert "connection refused &lt;b&gt;" in html and f"/deliveries/{dead.id}/retry" not in html
    board.client.cookies.clear()
    login(board.client, "boss")
    assert f"/deliveries/{dead.id}/retry" in board.client.get("/reminders").text
    retried = post_form(board.client, "/reminders", f"/deliveries/{dead.id}/retry", {})
    assert retried.status_code == 303
    with board.db.sessions() as session:
        row = session.get_one(Delivery, dead.id)
        assert (row.status, row.attempts) == (PENDING, 0)
    assert f"/deliveries/{dead.id}/retry" not in board.client.get("/reminders").text


def test_kpi_page_for_a_range_and_coordinator(board: Board) -> None:
    _open(board, DAY0 - dt.timedelta(days=40), coordinator="sam")
    login(board.client)
    html = board.client.get("/kpis").text
    assert "Osteoporosis drug therapy recorded" in html and 'id="kpi-data"' in html
    computed = board.runtime.now().strftime("%H:%M:%S")  # the site's zone is UTC here
    assert f"computed at {computed} (kept for 5 min)" in html
    assert "rag-red" in html  # the one episode is past day 14 without therapy
    start = (DAY0 - dt.timedelta(days=60)).isoformat()
    mine = board.client.get(f"/kpis?start={start}&end={DAY0.isoformat()}&coordinator=coord")
    assert mine.status_code == 200 and "0 episodes" in mine.text
    bad = board.client.get("/kpis?start=2026-05-01&end=2026-01-01")
    assert bad.status_code == 422 and "start: must not be after end" in bad.text
    assert board.client.get("/kpis?start=yesterday").status_code == 422


def _chart(html: str) -> dict[str, Any]:
    data = html.split('id="kpi-data">', 1)[1].split("</script>", 1)[0]
    chart: dict[str, Any] = json.loads(data)
    return chart


@pytest.mark.parametrize("days", [200, 4 * 365])
def test_kpi_page_report_and_trend_match_the_reports(board: Board, days: int) -> None:
    """The page reads the cohort once when its trend covers the whole range (200 days) and
    twice when the trend shows only the last 24 months of it (four years): either way its
    bars are `compute_kpis` over the range and its trend `monthly_kpis` by month."""
    for back in (30, 75, 150):
        _open(board, DAY0 - dt.timedelta(days=back), coordinator="sam")
    login(board.client)
    start = DAY0 - dt.timedelta(days=days)
    chart = _chart(board.client.get(f"/kpis?start={start.isoformat()}&end={DAY0}").text)
    now, zone = board.runtime.now(), board.runtime.settings.zone
    with board.db.sessions() as session:
        report = compute_kpis(session, start=start, end=DAY0, now=now, zone=zone)
        shown = kpi_pages._months(start, DAY0)  # the trend's months: the last 24 at most
        months = monthly_kpis(session, start=max(start, shown[0]), end=DAY0, now=now,
                              zone=zone)
    assert [(b["key"], b["numerator"], b["denominator"]) for b in chart["bars"]] == [
        (k.key, k.numerator, k.denominator) for k in report.kpis]
    assert sum(k.denominator for k in report.kpis) > 0
    assert chart["trend"]["labels"] == [m.strftime("%Y-%m") for m in shown]
    # 200 days: the trend covers the range (one read); four years: its last 24 months only.
    assert (shown[0] <= start) == (days == 200) and len(shown) == (8 if days == 200 else 24)
    by_label = {m.month.strftime("%Y-%m"): m.kpis for m in months}
    for series in chart["trend"]["series"]:
        for label, rate in zip(chart["trend"]["labels"], series["rates"], strict=True):
            kpi = next((k for k in by_label.get(label, []) if k.key == series["key"]), None)
            expected = None if kpi is None or kpi.rate is None else round(kpi.rate * 100, 1)
            assert rate == expected, (series["key"], label)


def test_pathway_page_draws_the_machine_with_windows_and_seeds(board: Board) -> None:
    login(board.client)
    response = board.client.get("/pathway")
    html = response.text
    assert "flowchart TB" in html and "Start conservative care" in html  # the two tracks
    assert "title: Fracture-care track" in html and "title: Bone-health track" in html
    assert "Reassessment day\u00a028" in html and "By day 14" in html
    assert "Reassess treatment response at 4-6 weeks." in html
    assert "FLS-DB 16 week follow up" in html
    assert "'unsafe-inline'" in response.headers["content-security-policy"].split(
        "style-src", 1)[1].split(";")[0]
    assert "script-src 'self';" in response.headers["content-security-policy"]


def test_pathway_page_shows_the_definition(board: Board) -> None:
    """The fields of a definition shown to people rather than read by the rules: a version
    that changes them shows the change (tests/pathway/rules/test_definition_fields.py)."""
    data = builtin_definition(1).as_data()
    data.update(version=3, title="Spine pathway, version 3 (test)", site_note="Local note 42.")
    data["milestones"]["followup_imaging"].update(seeds=["seed-xyz"], rule="Image by week 9.")
    with transaction(board.db.sessions) as session:
        add_version(session, definition=parse_definition(data), note="test", now=at(20))
    login(board.client)
    html = board.client.get("/pathway?version=3").text
    for shown in ("Spine pathway, version 3 (test)", "Local note 42.", "seed-xyz",
                  "Image by week 9."):
        assert shown in html
    assert "Image by week 9." not in board.client.get("/pathway?version=1").text
