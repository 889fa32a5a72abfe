"""Time: episodes across daylight-saving changes in non-UTC site zones (including zones whose
clocks jump at midnight or by half an hour), "today" taken in the site's zone, and the clock
moved forward a month between two scans of a real `pathway scan --as-of` process.

A day starts at 00:00 in the site's zone, so every milestone's due and overdue instants must
be the first instant of their calendar day there, and a scan one microsecond before raises
nothing while a scan at that instant raises the reminder, once.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from pathway.clock import local_day
from pathway.store.models import Milestone, Reminder
from scheduler.jobs import scan
from tests.api.support import make_harness
from tests.builders import DAY0, intake
from tests.faults.ledger import Entry
from tests.faults.processes import run_cli
from tests.support.databases import TestDatabase

#: Zones whose 2026 transitions are awkward: ordinary DST both ways, a jump at midnight (the
#: day's first instant is 01:00), a half-hour shift, a 45-minute offset, +14 and -11.
ZONES = ["America/New_York", "Europe/London", "America/Santiago", "Australia/Lord_Howe",
         "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"]
TICK = dt.timedelta(microseconds=1)
NO_DST = {"Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"}


def transitions(zone: ZoneInfo, year: int = 2026) -> list[dt.date]:
    """The days of `year` on which the zone's UTC offset changes."""
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        if (noon + dt.timedelta(days=1)).astimezone(zone).utcoffset() != \
                noon.astimezone(zone).utcoffset():
            days.append(day + dt.timedelta(days=1))
        day += dt.timedelta(days=1)
    return days


def _starts_day(instant: dt.datetime, day: dt.date, zone: ZoneInfo) -> bool:
    """Whether `instant` is the first instant of `day` in `zone`."""
    return local_day(instant, zone) == day and local_day(instant - TICK, zone) < day


@pytest.mark.parametrize("zone_name", ZONES)
def test_milestones_start_at_local_midnight_across_dst(pg_db: TestDatabase, zone_name: str,
                                                       ledger: Entry) -> None:
    zone = ZoneInfo(zone_name)
    api = make_harness(pg_db, site_timezone=zone_name)
    changes = transitions(zone) or [dt.date(2026, 3, 29)]
    opened = []
    for change in changes:
        # Day 0 three and fourteen days before the change: the plan decision, then the
        # therapy and calcium milestones, fall due on the day the clocks change.
        for back in (3, 14, 28):
            day0 = change - dt.timedelta(days=back)
            api.clock.now = dt.datetime.combine(day0, dt.time(12), tzinfo=zone)
            episode = api.open(identified_on=day0.isoformat())
            if back == 28:
                api.send(episode["id"], "start_conservative_care")  # due on day 28
            opened.append(episode["id"])
    with pg_db.sessions() as session:
        milestones = list(session.scalars(select(Milestone).where(
            Milestone.episode_id.in_(opened))))
    wrong = [f"milestone {m.kind} of {m.episode_id}: due {m.due_on} at {m.due_at}, overdue "
             f"{m.overdue_on} at {m.overdue_at}" for m in milestones
             if not (_starts_day(m.due_at, m.due_on, zone)
                     and _starts_day(m.overdue_at, m.overdue_on, zone))]
    assert wrong == [], "\n".join(wrong[:10])
    # Walk the alerts in time order: a microsecond before each alert instant nothing is
    # raised, at the instant exactly the milestones due then are, once.
    horizon = max(changes) + dt.timedelta(days=60)
    instants = on_change = 0
    while True:
        with pg_db.sessions() as session:
            due = list(session.scalars(select(Milestone.next_alert_at).where(
                Milestone.episode_id.in_(opened), Milestone.next_alert_at.is_not(None))))
        at = min(due, default=None)
        if at is None or local_day(at, zone) > horizon:
            break
        assert scan(api.runtime, now=at - TICK).raised == 0, (zone_name, at)
        assert scan(api.runtime, now=at).raised == due.count(at), (zone_name, at)
        assert scan(api.runtime, now=at).raised == 0
        instants += 1
        on_change += local_day(at, zone) in changes
    assert on_change > 0 or zone_name in NO_DST, "no alert fell on a transition day"
    ledger.tried(3 * instants + len(opened))
    ledger.check("milestone instants", 2 * len(milestones))
    ledger.check("alert instants scanned at the boundary", instants)
    if zone_name == "America/Santiago":
        midnight_jump = [d for d in changes
                         if dt.datetime.combine(d, dt.time(0), tzinfo=zone).astimezone(
                             dt.UTC).astimezone(zone).hour == 1]
        assert midnight_jump, "Santiago should have a day without a midnight"


@pytest.mark.parametrize(("zone_name", "utc_hour", "today"), [
    ("Pacific/Kiritimati", 11, dt.date(2026, 3, 3)),  # UTC+14: already tomorrow
    ("Pacific/Pago_Pago", 5, dt.date(2026, 3, 1)),    # UTC-11: still yesterday
])
def test_today_is_the_site_zones_day(pg_db: TestDatabase, zone_name: str, utc_hour: int,
                                     today: dt.date, ledger: Entry) -> None:
    api = make_harness(pg_db, site_timezone=zone_name)
    api.clock.now = dt.datetime.combine(DAY0, dt.time(utc_hour), tzinfo=dt.UTC)
    ahead = (today + dt.timedelta(days=2)).isoformat()
    refused = api.client.post("/v1/episodes", json=intake(identified_on=ahead),
                              headers=api.auth())
    assert refused.status_code == 422 and refused.json()["field"] == "identified_on"
    episode = api.open(identified_on=(today + dt.timedelta(days=1)).isoformat())
    assert episode["day"] == -1
    sent = api.send(episode["id"], "record_contact", kind="liaison_monitoring")
    assert sent.status_code == 422  # occurred "today" is before day 0 (tomorrow)
    episode = api.open(identified_on=today.isoformat())
    applied = api.send(episode["id"], "record_contact", kind="liaison_monitoring")
    assert applied.status_code == 201
    assert applied.json()["event"]["occurred_on"] == today.isoformat()
    ledger.tried(4)
    ledger.check("local-day decisions", 4)


SCAN_LINE = re.compile(r"examined=(\d+) raised=(\d+) already_raised=(\d+)")
ESCALATED = re.compile(r"escalated=(\d+)")
ZONE = "Europe/Berlin"


def _scan(url: str, at: dt.datetime) -> tuple[int, int]:
    out = run_cli(url, "scan", "--as-of", at.isoformat(), site_timezone=ZONE)
    found, escalated = SCAN_LINE.search(out), ESCALATED.search(out)
    assert found and escalated, out
    return int(found.group(2)), int(escalated.group(1))


@pytest.mark.slow
def test_clock_moved_forward_a_month_between_scans(pg_db: TestDatabase, ledger: Entry) -> None:
    zone = ZoneInfo(ZONE)
    api = make_harness(pg_db, site_timezone=ZONE)
    api.clock.now = dt.datetime.combine(DAY0, dt.time(9), tzinfo=zone)
    waiting = api.open()
    conservative = api.open()
    api.send(conservative["id"], "start_conservative_care")
    treated = api.open()
    api.walk(treated["id"], [(0, "start_conservative_care", {}),
                             (0, "record_therapy", {"agent": "alendronate"}),
                             (0, "record_therapy", {"agent": "calcium_vitamin_d"})])
    api.clock.now = dt.datetime.combine(DAY0, dt.time(9), tzinfo=zone)
    closed = api.open()
    api.send(closed["id"], "close", reason="withdrawn")

    def at(day: int) -> dt.datetime:
        return dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(9), tzinfo=zone)

    assert scan(api.runtime, now=at(1)).raised == 0
    raised, _ = _scan(pg_db.url, at(45))  # a month and a half later, in one step
    expected = {
        waiting["id"]: {"plan_overdue", "osteoporosis_therapy_overdue",
                        "calcium_vitamin_d_overdue"},
        conservative["id"]: {"reassessment_due", "reassessment_overdue",
                             "osteoporosis_therapy_overdue", "calcium_vitamin_d_overdue"},
        treated["id"]: {"reassessment_due", "reassessment_overdue"},
        closed["id"]: set(),
    }
    assert raised == sum(len(v) for v in expected.values())
    with pg_db.sessions() as session:
        rows = list(session.scalars(select(Reminder)))
    assert {e: {r.kind for r in rows if r.episode_id == e} for e in expected} == expected
    day = {"plan_overdue": 3, "osteoporosis_therapy_overdue": 14, "calcium_vitamin_d_overdue": 14,
           "reassessment_due": 28, "reassessment_overdue": 42}
    for reminder in rows:  # due on the day it fell due, raised when the scan ran
        assert reminder.due_on == DAY0 + dt.timedelta(days=day[reminder.kind])
        assert reminder.raised_at == at(45)
    assert _scan(pg_db.url, at(45)) == (0, 0)  # the same instant again: nothing new
    escalating = sum(r.kind != "reassessment_due" for r in rows)
    assert _scan(pg_db.url, at(53)) == (0, escalating)  # a week on: escalated, once
    assert _scan(pg_db.url, at(60)) == (0, 0)
    with pg_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == len(rows)
    ledger.tried(5)
    ledger.check("reminders raised after the jump", len(rows))
    ledger.check("escalations", escalating)
