"""The hostile requests: each one must be refused with a 4xx (a problem+json on the API) and
change nothing. Built from a few real ids so that a refusal is about the input, not a 404."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.builders import intake

NESTING = 20_000


@dataclass(frozen=True)
class Hostile:
    """One request and the refusals it may get."""

    name: str
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    statuses: frozenset[int] = frozenset({400, 413, 415, 422})


def _raw(name: str, path: str, text: str | bytes, **kw: Any) -> Hostile:
    body = text.encode() if isinstance(text, str) else text
    return Hostile(name, "POST", path, content=body,
                   headers={"Content-Type": "application/json", **kw.pop("headers", {})}, **kw)


def bodies(events: str, limit: int) -> list[Hostile]:
    """Malformed, oversized, deeply nested and wrongly typed bodies."""
    nested_list = "[" * NESTING + "]" * NESTING
    nested_data = '{"event":"record_contact","data":' + '{"a":' * (NESTING // 2) + "1" + \
        "}" * (NESTING // 2) + "}"
    return [
        _raw("body over the limit", events, "x" * (limit + 1), statuses=frozenset({413})),
        _raw("body over the limit, JSON", "/v1/episodes",
             json.dumps({**intake(), "pad": "x" * limit}), statuses=frozenset({413})),
        _raw("deeply nested array", "/v1/episodes", nested_list),
        _raw("deeply nested event data", events, nested_data),
        _raw("deeply nested intake field", "/v1/episodes",
             json.dumps({**intake(), "patient": "PLACEHOLDER"}).replace(
                 '"PLACEHOLDER"', '{"mrn":' * 3000 + '"X"' + "}" * 3000)),
        _raw("not JSON", events, "{not json"),
        _raw("truncated JSON", events, '{"event": "resolve", "data": {'),
        _raw("empty body", events, ""),
        _raw("JSON null", events, "null"),
        _raw("JSON list", events, '[{"event": "resolve"}]'),
        _raw("JSON string", events, '"resolve"'),
        _raw("JSON number", events, "1e999"),
        _raw("NaN", events, '{"event":"record_reassessment","data":{"pain_score":NaN,'
                            '"symptoms":"improving"}}'),
        _raw("UTF-16 body", events, '{"event":"drop_table"}'.encode("utf-16")),
        _raw("invalid UTF-8", events,
             b'{"event":"record_symptom_change","data":{"text":"\xff\xfe"}}'),
        _raw("lone surrogate", events,
             '{"event":"record_symptom_change","data":{"text":"a\\ud800b"}}'),
        _raw("NUL in free text", events,
             '{"event":"record_symptom_change","data":{"text":"a\\u0000b"}}'),
        _raw("NUL in a key", events, '{"event":"resolve","data":{"no\\u0000te":"x"}}'),
        Hostile("form body on a JSON route", "POST", events, content=b"event=resolve",
                headers={"Content-Type": "application/x-www-form-urlencoded"}),
        Hostile("text/plain body", "POST", events, content=b'{"event":"resolve"}',
                headers={"Content-Type": "text/plain"}),
    ]


def wrong_types(events: str) -> list[Hostile]:
    """The right fields with the wrong types, unknown fields, unknown names."""
    def ev(name: str, body: Any) -> Hostile:
        return Hostile(name, "POST", events, json=body)

    def ep(name: str, **override: Any) -> Hostile:
        return Hostile(name, "POST", "/v1/episodes", json={**intake(), **override})

    return [
        ev("event is a number", {"event": 123}),
        ev("event is a list", {"event": ["resolve"]}),
        ev("event in full-width letters", {"event": "ｒｅｓｏｌｖｅ"}),
        ev("event with trailing space", {"event": "resolve "}),
        ev("data is a string", {"event": "resolve", "data": "x"}),
        ev("data is a list", {"event": "resolve", "data": []}),
        ev("occurred_on is a number", {"event": "resolve", "occurred_on": 20260302}),
        ev("pain score is a string", {"event": "record_reassessment",
                                      "data": {"pain_score": "7", "symptoms": "improving"}}),
        ev("pain score is a float", {"event": "record_reassessment",
                                     "data": {"pain_score": 7.5, "symptoms": "improving"}}),
        ev("pain score is a boolean", {"event": "record_reassessment",
                                       "data": {"pain_score": True, "symptoms": "improving"}}),
        ev("pain score is huge", {"event": "record_reassessment",
                                  "data": {"pain_score": 10**40, "symptoms": "improving"}}),
        ev("unknown top-level field", {"event": "resolve", "admin": True}),
        ev("unknown data field", {"event": "record_contact",
                                  "data": {"kind": "liaison_monitoring", "sql": "1"}}),
        ev("unknown event", {"event": "drop_table"}),
        ev("adherent as a string", {"event": "record_contact",
                                    "data": {"kind": "adherence_review", "adherent": "yes"}}),
        ev("findings as a string", {"event": "record_neuro_change",
                                    "data": {"findings": "motor_weakness"}}),
        ev("note over 2000 characters", {"event": "record_symptom_change",
                                         "data": {"text": "x", "note": "n" * 2001}}),
        ep("levels is a string", levels="L1"),
        ep("levels of numbers", levels=[1, 2]),
        ep("levels empty", levels=[]),
        ep("levels unknown", levels=["L9"]),
        ep("patient is null", patient=None),
        ep("MRN is a number", patient={"mrn": 12345}),
        ep("MRN with SQL", patient={"mrn": "1' OR '1'='1"}),
        ep("MRN with HTML", patient={"mrn": "<b>x</b>"}),
        ep("MRN with a newline", patient={"mrn": "MRN1\nMRN2"}),
        ep("MRN too long", patient={"mrn": "M" * 65}),
        ep("red flags as an object", red_flags={"malignancy_history": True}),
        ep("boolean as a string", instability="yes"),
        ep("unknown intake field", is_admin=True),
        ep("unknown patient field", patient={"mrn": "EXTRA1", "ssn": "123"}),
        ep("coordinator is a list", coordinator=["a"]),
        ep("name over 200 characters", patient={"mrn": "LONG1", "name": "n" * 201}),
    ]


def dates(events: str, reminder: int) -> list[Hostile]:
    """Dates out of range, impossible or malformed, wherever the API takes one."""
    def ep(name: str, **override: Any) -> Hostile:
        return Hostile(name, "POST", "/v1/episodes", json={**intake(), **override})

    def ev(name: str, event: str, data: dict[str, Any], **extra: Any) -> Hostile:
        return Hostile(name, "POST", events, json={"event": event, "data": data, **extra})

    snooze = f"/v1/reminders/{reminder}/snooze"
    return [
        ep("identified in year 1", identified_on="0001-01-01"),
        ep("identified in year 9999", identified_on="9999-12-31"),
        ep("identified on 30 February", identified_on="2026-02-30"),
        ep("identified in month 13", identified_on="2026-13-01"),
        ep("identified with a 5-digit year", identified_on="+12026-01-01"),
        ep("identified as a US date", identified_on="03/02/2026"),
        ep("identified as a timestamp", identified_on=1772409600),
        ep("identified two days ahead", identified_on="2026-03-24"),  # the clock: 03-22
        ep("injury after identification", injury_on="2026-03-02", identified_on="2026-03-01"),
        ep("born in year 9999", patient={"mrn": "BORN1", "birth_date": "9999-12-31"}),
        ep("born in the future", patient={"mrn": "BORN2", "birth_date": "2026-04-10"}),
        ep("born in year 1", patient={"mrn": "BORN3", "birth_date": "0001-01-01"}),
        ep("imaging in year 1", initial_imaging={"modality": "mri",
                                                 "performed_on": "0001-01-01"}),
        ev("occurred before day 0", "record_contact", {"kind": "liaison_monitoring"},
           occurred_on="2026-03-01"),
        ev("occurred in year 9999", "record_contact", {"kind": "liaison_monitoring"},
           occurred_on="9999-12-31"),
        ev("therapy started in year 9999", "record_therapy",
           {"agent": "denosumab", "started_on": "9999-12-31"}),
        ev("therapy started in year 1", "record_therapy",
           {"agent": "calcitonin", "started_on": "0001-01-01"}),
        ev("therapy started next year", "record_therapy",
           {"agent": "alendronate", "started_on": "2027-03-02"}),
        Hostile("snooze until year 9999", "POST", snooze,
                json={"until": "9999-12-31", "reason": "x"}),
        Hostile("snooze until yesterday", "POST", snooze,
                json={"until": "2026-03-01", "reason": "x"}),
        Hostile("snooze until an impossible day", "POST", snooze,
                json={"until": "2026-02-29", "reason": "x"}),
        Hostile("KPIs from year 1", "GET", "/v1/kpis?from=0001-01-01"),
        Hostile("KPIs from after to", "GET", "/v1/kpis?from=2026-03-02&to=2026-01-01"),
        Hostile("episodes due before year 10000", "GET", "/v1/episodes?due_before=10000-01-01"),
    ]


IDS = ["-1", "0", "2147483648", "9223372036854775808", "1" + "0" * 40, "1.5", "1e3", "0x1F",
       "%D9%A1", "1%20OR%201=1", "1;DROP%20TABLE%20episodes"]


def identifiers(episode: int) -> list[Hostile]:
    """Negative, zero, 32-bit and 64-bit overflows, floats, hex, Arabic-Indic digits, SQL."""
    cases = []
    for raw in IDS:
        for template in ("/v1/episodes/{}", "/v1/episodes/{}/events", "/v1/episodes/{}/fhir",
                         f"/v1/episodes/{episode}/events/{{}}", "/v1/reminders/{}",
                         "/v1/webhooks/{}", "/v1/pathway/versions/{}"):
            cases.append(Hostile(f"id {raw} in {template}", "GET", template.format(raw),
                                 statuses=frozenset({404, 422})))
        cases.append(Hostile(f"id {raw} in an event post", "POST",
                             f"/v1/episodes/{raw}/events", json={"event": "resolve"},
                             statuses=frozenset({404, 422})))
        cases.append(Hostile(f"id {raw} in a retry", "POST", f"/v1/deliveries/{raw}/retry",
                             statuses=frozenset({404, 422})))
        cases.append(Hostile(f"id {raw} in an unsubscribe", "DELETE", f"/v1/webhooks/{raw}",
                             statuses=frozenset({404, 422})))
    return cases


def queries_and_headers(events: str) -> list[Hostile]:
    """Query strings and headers out of range, and methods the routes do not take."""
    q = "/v1/episodes?"
    return [
        Hostile("limit 0", "GET", q + "limit=0"),
        Hostile("limit negative", "GET", q + "limit=-1"),
        Hostile("limit huge", "GET", q + "limit=" + "9" * 30),
        Hostile("limit not a number", "GET", q + "limit=ten"),
        Hostile("cursor garbage", "GET", q + "cursor=" + "A" * 150),
        Hostile("cursor too long", "GET", q + "cursor=" + "A" * 5000),
        Hostile("state unknown", "GET", q + "state=%27%20OR%201=1--"),
        Hostile("overdue not a boolean", "GET", q + "overdue=perhaps"),
        Hostile("MRN empty", "GET", q + "mrn="),
        Hostile("MRN with NUL", "GET", q + "mrn=a%00b"),
        Hostile("unknown query parameter", "GET", q + "stat=assessed"),
        Hostile("reminder cursor garbage", "GET", "/v1/reminders?cursor=1|x|y"),
        Hostile("deliveries status unknown", "GET", "/v1/deliveries?status=%3Cscript%3E"),
        Hostile("If-Match garbage", "POST", events, json={"event": "record_contact", "data": {
            "kind": "liaison_monitoring"}}, headers={"If-Match": '"abc"'},
            statuses=frozenset({412})),
        Hostile("If-Match too long", "POST", events, json={"event": "resolve"},
                headers={"If-Match": '"1"' * 100}),
        Hostile("Idempotency-Key too long", "POST", events, json={"event": "resolve"},
                headers={"Idempotency-Key": "k" * 201}),
        Hostile("Idempotency-Key with spaces", "POST", events, json={"event": "resolve"},
                headers={"Idempotency-Key": "a key"}),
        Hostile("PUT an episode", "PUT", events.rsplit("/", 1)[0], json={},
                statuses=frozenset({405})),
        Hostile("PATCH the episodes", "PATCH", "/v1/episodes", json={},
                statuses=frozenset({405})),
        Hostile("DELETE an episode", "DELETE", events.rsplit("/", 1)[0],
                statuses=frozenset({405})),
        Hostile("unknown route", "GET", "/v1/episodes/1/../../admin",
                statuses=frozenset({404})),
        Hostile("webhook to a javascript: URL", "POST", "/v1/webhooks",
                json={"url": "javascript:alert(1)", "event_names": ["*"]}),
        Hostile("webhook to a file: URL", "POST", "/v1/webhooks",
                json={"url": "file:///etc/passwd", "event_names": ["*"]}),
        Hostile("webhook with an unknown event", "POST", "/v1/webhooks",
                json={"url": "http://127.0.0.1:9/", "event_names": ["drop_table"]}),
    ]


def all_cases(*, episode: int, reminder: int, limit: int) -> list[Hostile]:
    events = f"/v1/episodes/{episode}/events"
    return (bodies(events, limit) + wrong_types(events) + dates(events, reminder)
            + identifiers(episode) + queries_and_headers(events))


#: Free text that must be stored exactly as sent and shown escaped.
FREE_TEXT = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE episodes; --",
    "1' OR '1'='1' /*",
    "{{ 7*7 }} {% raw %}${7*7}",
    "\u202egnp.exe right-to-left override",
    "zero\u200bwidth\ufeffjoiners",
    "emoji 🦴🩻 and e\u0301 combining",
    "tab\tnew\nline\r\nreturn",
    "bell\x07 escape\x1b[31m red \x7f",
    "noncharacter \uffff and \U0010fffd",
    "x" * 2000,
]


@dataclass(frozen=True)
class PageCase:
    """A dashboard request (a form post carries the session's CSRF token)."""

    name: str
    method: str
    path: str
    form: dict[str, str] = field(default_factory=dict)


SCRIPT = "<script>alert(1)</script>"


def dashboard_cases(episode: int, reminder: int) -> list[PageCase]:
    """Hostile paths, query strings and forms on the dashboard's pages."""
    events = f"/episodes/{episode}/events"
    cases = [PageCase(f"episode page {raw}", "GET", f"/episodes/{raw}")
             for raw in ("-1", "0", "abc", "1" + "0" * 30, "%00", "1%20OR%201=1")]
    cases += [
        PageCase("worklist MRN script", "GET", f"/?mrn={SCRIPT}"),
        PageCase("worklist state SQL", "GET", "/?state=%27%20OR%201=1--&kind=x&priority=y"),
        PageCase("worklist coordinator HTML", "GET", '/?coordinator="><img src=x onerror=1>'),
        PageCase("worklist cursor garbage", "GET", "/?after=" + "Z" * 300),
        PageCase("reminders view script", "GET", f"/reminders?view={SCRIPT}&kind={SCRIPT}"),
        PageCase("reminders cursor garbage", "GET", "/reminders?after=1|x|y"),
        PageCase("KPIs years 1 to 9999", "GET", "/kpis?start=0001-01-01&end=9999-12-31"),
        PageCase("KPIs garbage dates", "GET", f"/kpis?start={SCRIPT}&end=yesterday"),
        PageCase("KPIs coordinator script", "GET", f"/kpis?coordinator={SCRIPT}"),
        PageCase("login next script", "GET", f"/login?next=javascript:{SCRIPT}"),
        PageCase("event unknown", "POST", events, {"event": f"drop_table{SCRIPT}"}),
        PageCase("event pain score huge", "POST", events, {
            "event": "record_reassessment", "data.pain_score": "9" * 40,
            "data.symptoms": "improving"}),
        PageCase("event pain score text", "POST", events, {
            "event": "record_reassessment", "data.pain_score": SCRIPT}),
        PageCase("event occurred in year 1", "POST", events, {
            "event": "record_contact", "data.kind": "liaison_monitoring",
            "occurred_on": "0001-01-01"}),
        PageCase("event occurred garbage", "POST", events, {
            "event": "record_contact", "data.kind": "liaison_monitoring",
            "occurred_on": SCRIPT}),
        PageCase("event therapy in year 9999", "POST", events, {
            "event": "record_therapy", "data.agent": "denosumab",
            "data.started_on": "9999-12-31"}),
        PageCase("event choice script", "POST", events, {
            "event": "record_contact", "data.kind": SCRIPT}),
        PageCase("event note too long", "POST", events, {
            "event": "record_symptom_change", "data.text": "x", "data.note": "n" * 2001}),
        PageCase("event on a huge id", "POST", "/episodes/99999999999999999999/events",
                 {"event": "resolve"}),
        PageCase("snooze until year 9999", "POST", f"/reminders/{reminder}/snooze",
                 {"until": "9999-12-31", "reason": "x"}),
        PageCase("snooze until garbage", "POST", f"/reminders/{reminder}/snooze",
                 {"until": SCRIPT, "reason": "x"}),
        PageCase("snooze without reason", "POST", f"/reminders/{reminder}/snooze",
                 {"until": "2026-04-01", "reason": ""}),
        PageCase("assign to nobody", "POST", f"/reminders/{reminder}/assign", {"assignee": " "}),
        PageCase("assign name too long", "POST", f"/reminders/{reminder}/assign",
                 {"assignee": "a" * 121}),
        PageCase("acknowledge a huge id", "POST", "/reminders/99999999999999/acknowledge", {}),
        PageCase("acknowledge a negative id", "POST", "/reminders/-5/acknowledge", {}),
        PageCase("retry a huge id", "POST", "/deliveries/99999999999999/retry", {}),
        PageCase("acknowledge, note too long", "POST", f"/reminders/{reminder}/acknowledge",
                 {"note": "n" * 2001}),
        PageCase("acknowledge, NUL in note", "POST", f"/reminders/{reminder}/acknowledge",
                 {"note": "a\x00b"}),
    ]
    return cases
