"""The event forms (derived from the event data models) and the timeline rows, without I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from starlette.datastructures import FormData

from api.dashboard.event_forms import event_form, parse_date, parse_event_data
from api.dashboard.timeline import timeline_data, timeline_rows
from pathway.errors import InvalidData
from pathway.event_data import DATA_SCHEMAS, validate_event_data
from pathway.store.models import EventRecord, Milestone

DAY0 = dt.date(2026, 3, 2)


#: The "or instead" answers of the data set's facts (a reason why not): a person fills in
#: either what was done or the reason, so the form test leaves these empty.
INSTEAD = {"not_done", "not_started", "not_recommended"}


def _filled(event: str) -> list[tuple[str, Any]]:
    """The form of `event` filled as a person would: first choice, mid number, a date."""
    pairs: list[tuple[str, Any]] = []
    for f in event_form(event).fields:
        if f.name in INSTEAD:
            continue
        if f.widget in ("select", "checkboxes"):
            pairs.append((f.input_name, f.choices[0]))
        elif f.widget == "number":
            pairs.append((f.input_name, "5"))
        elif f.widget == "decimal":
            pairs.append((f.input_name, "-1.5" if (f.minimum or 0) < 0 else "12.5"))
        elif f.widget == "date":
            pairs.append((f.input_name, "2026-03-05"))
        elif f.widget == "yesno":
            pairs.append((f.input_name, "yes"))
        else:
            pairs.append((f.input_name, "some text"))
    return pairs


@pytest.mark.parametrize("event", sorted(DATA_SCHEMAS))
def test_every_event_form_filled_in_is_valid_event_data(event: str) -> None:
    data = parse_event_data(event, FormData(_filled(event)))
    validate_event_data(event, data)  # raises if the form and the model disagree
    required = {f.name for f in event_form(event).fields if f.required}
    assert required <= set(data)


def test_empty_inputs_are_left_out_and_bad_numbers_name_the_field() -> None:
    assert parse_event_data("record_therapy", FormData([("data.agent", "denosumab"),
                                                        ("data.dose", " "),
                                                        ("data.started_on", "")])) == {
        "agent": "denosumab"}
    with pytest.raises(InvalidData) as bad:
        parse_event_data("record_reassessment", FormData([("data.pain_score", "4.5")]))
    assert bad.value.field == "data.pain_score"
    with pytest.raises(InvalidData) as yesno:
        parse_event_data("record_contact", FormData([("data.kind", "adherence_review"),
                                                     ("data.adherent", "maybe")]))
    assert yesno.value.field == "data.adherent"
    checks = parse_event_data("suspect_malignancy", FormData(
        [("data.red_flags", "malignancy_history"), ("data.red_flags", "imaging_suspicious")]))
    assert checks == {"red_flags": ["malignancy_history", "imaging_suspicious"]}
    assert parse_date("until", "", required=False) is None
    with pytest.raises(InvalidData, match="until: must be a date"):
        parse_date("until", "31/12/2026")


def _milestone(kind: str, due: int, overdue: int, status: str = "open",
               met: int | None = None) -> Milestone:
    return Milestone(kind=kind, status=status, due_on=DAY0 + dt.timedelta(days=due),
                     overdue_on=DAY0 + dt.timedelta(days=overdue),
                     met_on=DAY0 + dt.timedelta(days=met) if met is not None else None)


def test_timeline_rows_say_where_each_milestone_stands() -> None:
    today = DAY0 + dt.timedelta(days=30)
    rows = timeline_rows([
        _milestone("plan_decision", 0, 3, "met", met=1),
        _milestone("osteoporosis_therapy", 0, 14, "met", met=20),
        _milestone("calcium_vitamin_d", 0, 14),
        _milestone("reassessment", 28, 42),
        _milestone("liaison_monitoring", 84, 112),
        _milestone("augmentation_review", 90, 104, "void"),
        _milestone("augmentation_review", 118, 132),
    ], day0=DAY0, today=today)
    assert [(r.label, r.status, r.overdue_days) for r in rows] == [
        ("Plan decision", "met", 0),
        ("Osteoporosis drug therapy", "met_late", 0),
        ("Calcium and vitamin D", "overdue", 16),
        ("Reassessment", "due", 0),
        ("Liaison monitoring contact", "upcoming", 0),
        ("Augmentation review (1)", "void", 0),
        ("Augmentation review (2)", "upcoming", 0),
    ]
    assert (rows[1].start, rows[1].end, rows[1].met_day) == (0, 14, 20)


def test_timeline_data_spans_day_0_to_beyond_today_and_the_last_window() -> None:
    event = EventRecord(name="start_conservative_care", occurred_on=DAY0 + dt.timedelta(days=1),
                        target_state="conservative_care")
    data = timeline_data([_milestone("reassessment", 28, 42)], [event], day0=DAY0,
                         today=DAY0 + dt.timedelta(days=10))
    assert data["today"] == 10 and data["x_min"] == 0
    assert data["x_max"] > 42 and data["x_max"] > 10 + 28
    assert data["events"] == [{"day": 1, "name": "start_conservative_care",
                               "on": "2026-03-03", "target": "conservative_care"}]
