"""SQLite: timestamps as integer microseconds since 1970 UTC

SQLAlchemy's SQLite dialect stored each timestamp as 26 characters of text
('2026-03-02 09:00:00.000000'); `pathway.store.models.UTCDateTime` now stores integer microseconds
(8 bytes), a quarter of the database at 100,000 episodes (BENCHMARKS.md, workload 2). This
migration converts the rows already there; the columns keep their declared type (`DATETIME`,
whose affinity leaves integers as integers). A value that cannot be read as a timestamp stops
the migration (its NOT NULL column refuses the NULL) rather than being lost. PostgreSQL keeps
its native `timestamp` columns: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every timestamp column, by table (`UTCDateTime` columns of `pathway.store.models` at 0003).
INSTANTS: dict[str, tuple[str, ...]] = {
    "api_keys": ("created_at", "revoked_at"),
    "idempotency_keys": ("created_at",),
    "pathway_versions": ("created_at",),
    "patients": ("created_at",),
    "users": ("created_at",),
    "webhook_subscriptions": ("created_at",),
    "episodes": ("next_overdue_at", "opened_at", "updated_at", "closed_at"),
    "events": ("recorded_at",),
    "milestones": ("due_at", "overdue_at", "next_alert_at", "created_at", "closed_at"),
    "reminders": ("raised_at", "acknowledged_at", "snoozed_until", "escalate_at",
                  "escalated_at", "resolved_at"),
    "deliveries": ("next_attempt_at", "leased_until", "created_at", "delivered_at"),
    "reminder_actions": ("at",),
    "delivery_attempts": ("at",),
}

# 'YYYY-MM-DD HH:MM:SS[.ffffff]', SQLAlchemy's SQLite text form -> microseconds. The seconds
# are read without the fraction: strftime('%s') rounds '...:59.999999' up to the next second.
_TO_MICROS = ("CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER) * 1000000 + "
              "CAST(substr({c} || '000000', 21, 6) AS INTEGER)")
# microseconds -> 'YYYY-MM-DD HH:MM:SS.ffffff', SQLAlchemy's SQLite text form.
_TO_TEXT = ("strftime('%Y-%m-%d %H:%M:%S', {c} / 1000000, 'unixepoch') || '.' || "
            "printf('%06d', {c} % 1000000)")
_EVENTS_TRIGGER = """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events is append-only'); END"""


def _convert(expression: str, stored_as: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The event log refuses updates; this one rewrites only the form of its timestamps.
    op.execute("DROP TRIGGER IF EXISTS events_no_update")
    for table, columns in INSTANTS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = {expression.format(c=column)} "
                       f"WHERE typeof({column}) = '{stored_as}'")
    op.execute(_EVENTS_TRIGGER)


def upgrade() -> None:
    _convert(_TO_MICROS, "text")


def downgrade() -> None:
    _convert(_TO_TEXT, "integer")
