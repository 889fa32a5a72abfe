"""What the integration API sends and receives (pydantic models, so the OpenAPI schema is exact).

Incoming ids and dates are bounded here: ids fit the database's 32-bit integer columns and
dates lie between 1900 and 2999, so nothing out of range reaches a query.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pathway.event_data import iso_date_only
from pathway.vocabulary import ALL_EVENT_NAMES
from pathway.webhooks import EVENT_CHOICES, REMINDER_CHOICES

MAX_ID = 2**31 - 1
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
EpisodeId = Annotated[int, Path(ge=1, le=MAX_ID, description="The episode's id")]
SeqNo = Annotated[int, Path(ge=1, le=MAX_ID, description="The event's sequence number")]
ReminderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The reminder's id")]
BoundedDate = Annotated[dt.date, BeforeValidator(iso_date_only),
                        Field(ge=EARLIEST, le=LATEST)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
EventName = Literal[ALL_EVENT_NAMES]  # type: ignore[valid-type]
SubscriptionEvent = Literal[EVENT_CHOICES]  # type: ignore[valid-type]
SubscriptionReminder = Literal[REMINDER_CHOICES]  # type: ignore[valid-type]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PatientOut(Out):
    mrn: str
    name: str | None
    birth_date: dt.date | None


class MilestoneOut(Out):
    id: int
    kind: str
    status: str
    anchor_on: dt.date
    due_on: dt.date = Field(description="From when it should happen")
    overdue_on: dt.date = Field(description="After this day starts, an overdue reminder")
    overdue: bool
    days_overdue: int = Field(description="Whole days since the overdue day began (0 if not)")
    met_on: dt.date | None


class ReminderOut(Out):
    id: int
    episode_id: int
    kind: str
    priority: str
    status: str
    due_on: dt.date
    rule: str = Field(description="Why the reminder exists")
    seeds: list[str] = Field(description="The guideline summaries the rule comes from")
    raised_at: dt.datetime
    assigned_to: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    snoozed_until: dt.datetime | None
    snooze_reason: str | None
    escalate_at: dt.datetime | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str | None


_ACTIONS = (
    "One step of the reminder's history: `raised`, `acknowledged` (detail: `note`), "
    "`snoozed` (`until`, `reason`), `assigned` (`assignee`, `previous`), `snooze_ended`, "
    "`escalated` (`after_days`), `resolved` (`resolution`), `delivery_retried` (an operator "
    "sent a dead letter again), and one step per delivery attempt of a message about the "
    "reminder: `delivery_delivered`, `delivery_failed` (it will be retried), `delivery_dead` "
    "(no more retries: a dead letter) and `delivery_skipped` (never sent: the reminder was "
    "resolved first). A delivery step's detail has `delivery_id`, `channel` (`webhook`, "
    "`email`), `topic`, `subscription_id` (webhooks), `outcome` (`delivered`, `failed`, "
    "`dead`, `skipped`), `attempt` (its number; null when skipped), `status_code` (the HTTP "
    "status or SMTP reply code, null when there was no answer) and `error` (at most 200 "
    "characters, null when delivered); a skip adds `reason` and `resolution`.")
_DELIVERY_STEP = {"delivery_id": 12, "channel": "webhook", "topic": "reminder.raised",
                  "subscription_id": 3, "outcome": "failed", "attempt": 1,
                  "status_code": 503, "error": "HTTP 503 in 41 ms"}


class ReminderActionOut(Out):
    at: dt.datetime = Field(description="When it happened (a delivery step: when the attempt "
                                        "was recorded)")
    actor: str
    action: str = Field(description=_ACTIONS, examples=["delivery_failed"])
    detail: dict[str, Any] = Field(examples=[_DELIVERY_STEP])


class ReminderDetail(ReminderOut):
    history: list[ReminderActionOut]


class ReminderPage(BaseModel):
    items: list[ReminderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class EpisodeSummary(BaseModel):
    id: int
    state: str
    track_final: bool = Field(description="The fracture-care track has ended")
    version: int = Field(description="Optimistic-concurrency version (the ETag)")
    pathway_version: int
    identified_on: dt.date = Field(description="Day 0")
    day: int = Field(description="Days since day 0, today in the site's zone")
    coordinator: str | None
    mrn: str
    next_milestone: str | None
    next_overdue_at: dt.datetime | None
    overdue: bool


class EpisodePage(BaseModel):
    items: list[EpisodeSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class EpisodeOut(EpisodeSummary):
    patient: PatientOut
    levels: list[str]
    intake: dict[str, Any]
    allowed_events: list[str] = Field(description="Events and facts accepted now")
    milestones: list[MilestoneOut] = Field(description="Open milestones, soonest overdue first")
    reminders: list[ReminderOut] = Field(description="Reminders not yet resolved")
    opened_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class EventIn(BaseModel):
    """An event or fact of PATHWAY.md with the day it happened and its data."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"event": "record_reassessment", "occurred_on": "2026-03-30",
         "data": {"pain_score": 4, "symptoms": "persistent"}},
        {"event": "record_therapy", "data": {"agent": "alendronate", "dose": "70 mg weekly"}},
    ]})

    event: EventName
    occurred_on: BoundedDate | None = Field(
        default=None, description="Default today; not before day 0 nor over a day ahead")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="The event's data; `GET /v1/pathway` gives each event's data schema")


class EventOut(Out):
    seq: int
    name: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    actor: str
    source_state: str | None
    target_state: str
    data: dict[str, Any]


class EventApplied(BaseModel):
    event: EventOut
    episode: EpisodeOut


class EventLog(BaseModel):
    episode_id: int
    items: list[EventOut]


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=2000)] | None = None


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: BoundedDate = Field(description="Wake at the start of this day (site's zone)")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: Name


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    reminder_kinds: Annotated[list[SubscriptionReminder], Field(max_length=50)] = []
    event_names: Annotated[list[SubscriptionEvent], Field(max_length=50)] = []
    secret: Annotated[str, Field(min_length=10, max_length=200)] | None = Field(
        default=None, description="`whsec_` + base64 of 24-64 bytes; generated if omitted")


class WebhookOut(Out):
    id: int
    url: str
    reminder_kinds: list[str]
    event_names: list[str]
    active: bool
    created_at: dt.datetime
    created_by: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown only once")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(Out):
    id: int
    delivery_key: str
    topic: str
    channel: str
    target: str
    status: str = Field(description="`pending`, `delivered`, `dead` (a dead letter) or "
                                    "`skipped` (never sent: its reminder was resolved first)")
    attempts: int
    reminder_id: int | None
    event_id: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class EventRule(BaseModel):
    kind: Literal["transition", "fact"]
    from_states: list[str]
    data_schema: dict[str, Any]


class Diagram(BaseModel):
    format: Literal["mermaid"]
    source: str


class PathwayOut(BaseModel):
    version: int
    current: bool
    title: str
    states: list[str]
    track_final_states: list[str]
    events: dict[str, EventRule]
    definition: dict[str, Any] = Field(description="Windows, reminder rules and thresholds")
    diagram: Diagram


class VersionOut(Out):
    version: int
    note: str
    created_at: dt.datetime


class VersionList(BaseModel):
    current: int
    items: list[VersionOut]


class KpiOut(Out):
    key: str
    title: str
    milestone: str
    deadline_day: int
    numerator: int
    denominator: int
    rate: float | None
    band: Literal["green", "amber", "red"] | None
    seeds: list[str]


class TimingOut(Out):
    milestone: str
    met: int
    median_days: float | None


class OverdueOut(Out):
    kind: str
    count: int
    by_age: dict[str, int]
    oldest_days: int


class KpiReportOut(BaseModel):
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    as_of: dt.date
    computed_at: dt.datetime = Field(
        description="when this report was computed (reports are reused for a few minutes)")
    coordinator: str | None
    episodes: int
    kpis: list[KpiOut]
    timings: list[TimingOut]
    overdue_reminders: list[OverdueOut]

    model_config = ConfigDict(populate_by_name=True)


class Status(BaseModel):
    status: str


RoleName = Literal["integration", "coordinator", "clinician", "admin"]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]
    password: Annotated[str, Field(min_length=1, max_length=256, description=(
        "At least 12 characters and hard to guess (zxcvbn score 3 or more)"))]
    role: RoleName
    email: Annotated[str, Field(max_length=200)] | None = None
    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class UserOut(Out):
    username: str
    role: str
    display_name: str | None
    email: str | None
    active: bool
    created_at: dt.datetime


class UserList(BaseModel):
    items: list[UserOut]


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=256)]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


class SessionOut(Out):
    id: int
    username: str
    client_address: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


class SessionList(BaseModel):
    items: list[SessionOut]


class SessionsEnded(BaseModel):
    ended: int


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]
    role: RoleName
    expires_in_days: Annotated[int, Field(ge=0, le=5 * 365, description=(
        "Days until it expires; 0: never"))] = 365


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_days: Annotated[int, Field(ge=0, le=5 * 365)] = 365


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: Annotated[str, Field(min_length=1, max_length=16, description=(
        "Only the secret with this prefix (after a rotation); all of the name's if omitted"
    ))] | None = None


class ApiKeyOut(Out):
    id: int
    name: str
    prefix: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="The key for `Authorization: Bearer`; shown only once")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class AccessEntryOut(Out):
    id: int
    at: dt.datetime
    actor: str
    what: str
    mrn: str | None
    episode_id: int | None
    detail: dict[str, Any] | None
    client_address: str | None


class AccessLogPage(BaseModel):
    items: list[AccessEntryOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page")


class AdminEntryOut(Out):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None


class AdminLogPage(BaseModel):
    items: list[AdminEntryOut]
    next_before: int | None
