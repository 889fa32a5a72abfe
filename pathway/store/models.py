"""Storage models (SQLAlchemy 2.x declarative). The schema itself comes only from migrations/.

Timestamps are timezone-aware UTC and days are dates on both databases: the column types are
`pathway.store.column_types`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column, relationship

from pathway.store.column_types import (
    EPOCH,
    EPOCH_ORDINAL,
    Day,
    UTCDateTime,
    from_epoch_micros,
    to_epoch_micros,
)

__all__ = ["EPOCH", "EPOCH_ORDINAL", "Day", "UTCDateTime", "from_epoch_micros",
           "to_epoch_micros"]  # the column types, for the modules that import them from here

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dt.date: Day, dict[str, Any]: JSON,
                           list[Any]: JSON}


class PathwayVersion(Base):
    """A stored pathway definition; episodes point at the one they started on."""

    __tablename__ = "pathway_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[dict[str, Any]]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime]


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(Day)
    created_at: Mapped[dt.datetime]

    # The worklist sorts by name: a page walks this index instead of sorting every patient.
    __table_args__ = (Index("ix_patients_name", "name"),)


class Episode(Base):
    """One fracture episode: the persisted state of its machine and its intake assessment."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    pathway_version: Mapped[int] = mapped_column(ForeignKey("pathway_versions.version"))
    version: Mapped[int] = mapped_column(Integer)
    # Indexed: reports select their cohort by day 0.
    identified_on: Mapped[dt.date] = mapped_column(Day, index=True)
    coordinator: Mapped[str | None] = mapped_column(String(120))
    levels: Mapped[list[Any]]
    intake: Mapped[dict[str, Any]]
    neuro_intact: Mapped[bool] = mapped_column(Boolean)
    instability: Mapped[bool] = mapped_column(Boolean)
    cord_compression: Mapped[bool] = mapped_column(Boolean)
    red_flags_open: Mapped[bool] = mapped_column(Boolean)
    # Denormalised from the open milestones, for the worklist's "most overdue first".
    next_overdue_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    next_milestone: Mapped[str | None] = mapped_column(String(40))
    # The priority of the most pressing unresolved, un-snoozed reminder (0 stat, 1 urgent,
    # 2 routine, 3 none): kept by triggers on reminders (migration 0010), never written here.
    # Deferred: not loaded with the episode (an object's copy would go stale as reminders
    # change); the worklist filters and orders by it in SQL.
    attention: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"),
                                           deferred=True)
    opened_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]

    patient: Mapped[Patient] = relationship(lazy="joined", innerjoin=True)

    # The use cases set the version themselves (it is also the event log's sequence number);
    # the ORM still checks the old value in the UPDATE's WHERE clause.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    # The worklist filters by state or coordinator and pages "most overdue first": these
    # indexes serve both, so a filtered page walks an index instead of sorting every match.
    __table_args__ = (
        Index("ix_episodes_state_next_overdue_at", "state", "next_overdue_at"),
        Index("ix_episodes_coordinator_next_overdue_at", "coordinator", "next_overdue_at"),
        Index("ix_episodes_attention_next_overdue_at", "attention", "next_overdue_at"),
    )


class Milestone(Base):
    """One obligation of an episode with its due and overdue timestamps."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    anchor_on: Mapped[dt.date] = mapped_column(Day)
    due_on: Mapped[dt.date] = mapped_column(Day)
    overdue_on: Mapped[dt.date] = mapped_column(Day)
    due_at: Mapped[dt.datetime]
    overdue_at: Mapped[dt.datetime]
    # When the scheduler must next look at this row (heads-up, then overdue); NULL when done.
    next_alert_at: Mapped[dt.datetime | None]
    next_alert_kind: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    met_on: Mapped[dt.date | None] = mapped_column(Day)
    closed_at: Mapped[dt.datetime | None]
    # Whether it is its episode's first milestone of its kind (the one the KPIs count), kept
    # when it is opened: the KPI report no longer looks for an earlier one per milestone.
    first_of_kind: Mapped[bool] = mapped_column(Boolean, server_default=true())

    __table_args__ = (
        Index(
            "ix_milestones_next_alert_at",
            "next_alert_at",
            sqlite_where=text("next_alert_at IS NOT NULL"),
            postgresql_where=text("next_alert_at IS NOT NULL"),
        ),
    )


class EventRecord(Base):
    """The append-only event log: every opening, transition and fact, with its actor."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[dt.date] = mapped_column(Day)
    recorded_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(120))
    source_state: Mapped[str | None] = mapped_column(String(32))
    target_state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]

    __table_args__ = (
        UniqueConstraint("episode_id", "seq", name="uq_events_episode_seq"),
        # Every KPI report looks for episodes closed as entered in error.
        Index("ix_events_closings", "episode_id", sqlite_where=text("name = 'close'"),
              postgresql_where=text("name = 'close'")),
    )


class TherapyRecord(Base):
    __tablename__ = "therapies"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    agent: Mapped[str] = mapped_column(String(40))
    started_on: Mapped[dt.date] = mapped_column(Day)
    dose: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))


class ImagingRecord(Base):
    __tablename__ = "imaging"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    modality: Mapped[str] = mapped_column(String(10))
    performed_on: Mapped[dt.date] = mapped_column(Day)
    finding: Mapped[str | None] = mapped_column(String(40))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))


class Reminder(Base):
    """A raised reminder: unique per (episode, kind, due date), so raising is idempotent."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (episode_id, kind, due_on) serves lookups by episode.
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    # Indexed: closing a milestone looks up its open reminders by milestone.
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[dt.date] = mapped_column(Day)
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(Text)
    seeds: Mapped[list[Any]]
    raised_at: Mapped[dt.datetime]
    assigned_to: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[dt.datetime | None]
    snooze_reason: Mapped[str | None] = mapped_column(Text)
    escalate_at: Mapped[dt.datetime | None]
    escalated_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("episode_id", "kind", "due_on", name="uq_reminders_episode_kind_due"),
        Index("ix_reminders_status_kind", "status", "kind"),
        # The worklist's priority and "assigned to" filters (migration 0010).
        Index("ix_reminders_status_priority_due", "status", "priority", "due_on"),
        Index("ix_reminders_assigned_to", "assigned_to",
              sqlite_where=text("assigned_to IS NOT NULL"),
              postgresql_where=text("assigned_to IS NOT NULL")),
        Index(
            "ix_reminders_escalate_at",
            "escalate_at",
            sqlite_where=text("escalate_at IS NOT NULL"),
            postgresql_where=text("escalate_at IS NOT NULL"),
        ),
    )


class ReminderAction(Base):
    """History of a reminder: raise, acknowledge, snooze, assign, escalate, resolve."""

    __tablename__ = "reminder_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]]


class Delivery(Base):
    """The outbox: one row per message per channel, queued in the transaction that caused it."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    leased_until: Mapped[dt.datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index(
            "ix_deliveries_pending",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[dt.datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    reminder_kinds: Mapped[list[Any]]
    event_names: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(120))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime]


class SavedView(Base):
    """A worklist view (its filters and sort, as a query string) a user saved by name."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime]

    __table_args__ = (UniqueConstraint("username", "name", name="uq_saved_views_username_name"),)


class ApiKey(Base):
    """One secret of an integration. A client's secrets share its `name` (the actor recorded
    as `key:<name>`): rotating adds a secret beside the old one until that is revoked."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A dashboard session, kept server-side: the browser holds only a random token, whose
    SHA-256 is stored. Anonymous sessions (no user) carry the login form's CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[dict[str, Any]]
    client_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginFailure(Base):
    """One failed login, counted against a throttle key (`addr:<address>` or
    `user:<name>@<address>`) while it is inside the throttle's window."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    failed_at: Mapped[dt.datetime]


class AccessRecord(Base):
    """Who read which patient's data, when, how and from where (append-only)."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_patient_at", "patient_id", "at"),
                      Index("ix_access_log_actor_at", "actor", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))
    what: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    episode_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None]
    client_address: Mapped[str | None] = mapped_column(String(64))


class AdminRecord(Base):
    """A change to who may use the product: users, passwords, keys, sessions (append-only)."""

    __tablename__ = "admin_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any] | None]


class IdempotencyRecord(Base):
    """A stored response for an `Idempotency-Key`, replayed to a retry with the same body."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any]]
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)  # purged by age (retention)


# Set the mappers up now, not at the first ORM query: an unconfigured class has no attribute
# machinery yet, and a process may read rows before its first ORM query.
configure_mappers()
