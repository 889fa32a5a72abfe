"""KPI rules that the API test's cohort does not reach: bands, zones of deadlines, exclusions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from pathway.definition import builtin_definition
from pathway.kpis import band, compute_kpis
from tests.builders import DAY0, UTC, at, open_at, send


@pytest.mark.parametrize(("rate", "expected"), [
    (1.0, "green"), (0.8, "green"), (0.79, "amber"), (0.5, "amber"), (0.49, "red"),
    (0.0, "red"), (None, None),
])
def test_bands(rate: float | None, expected: str | None) -> None:
    assert band(rate, builtin_definition()) == expected


def _rates(session: Session, day: int) -> dict[str, tuple[int, int]]:
    report = compute_kpis(session, start=DAY0, end=DAY0, now=at(day), zone=UTC)
    return {k.key: (k.numerator, k.denominator) for k in report.kpis}


def test_pending_windows_are_not_counted_until_they_pass(session: Session) -> None:
    episode = open_at(session)
    send(session, episode, "start_conservative_care", 1)
    assert _rates(session, 42)["reassessment_on_time"] == (0, 0)  # day 42 still counts
    assert _rates(session, 43)["reassessment_on_time"] == (0, 1)
    send(session, episode, "record_reassessment", 43, pain_score=4, symptoms="improving")
    assert _rates(session, 44)["reassessment_on_time"] == (0, 1)  # met, but late


def test_leaving_before_the_deadline_excludes_closing_after_it_fails(session: Session) -> None:
    early = open_at(session)
    send(session, early, "start_conservative_care", 1)
    send(session, early, "refer_surgery", 20, reason="instability")
    late = open_at(session)
    send(session, late, "start_conservative_care", 1)
    send(session, late, "close", 50, reason="lost_to_follow_up")
    rates = _rates(session, 120)
    assert rates["reassessment_on_time"] == (0, 1)  # `late` only: closed while overdue
    assert rates["liaison_monitoring_on_time"] == (0, 1)  # `early` only: `late` left first


def test_range_and_coordinator_select_the_cohort(session: Session) -> None:
    open_at(session, coordinator="alex")
    open_at(session, coordinator="sam", identified_on=(DAY0 + dt.timedelta(days=1)).isoformat(),
            day=1)
    one_day = compute_kpis(session, start=DAY0, end=DAY0, now=at(200), zone=UTC)
    assert one_day.episodes == 1
    both = compute_kpis(session, start=DAY0, end=DAY0 + dt.timedelta(days=1), now=at(200),
                        zone=UTC)
    assert both.episodes == 2
    sam = compute_kpis(session, start=DAY0, end=DAY0 + dt.timedelta(days=1), now=at(200),
                       zone=UTC, coordinator="sam")
    assert sam.episodes == 1 and sam.coordinator == "sam"
