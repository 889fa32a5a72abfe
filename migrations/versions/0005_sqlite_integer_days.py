"""SQLite: calendar days as integer days since 1970-01-01

SQLAlchemy's SQLite dialect stored each date as 10 characters of text ('2026-03-02');
`pathway.store.models.Day` now stores the number of days since 1970-01-01 (two or three bytes),
about a tenth of the database at 100,000 episodes (BENCHMARKS.md, workload 2). This migration
converts the rows already there; the columns keep their declared type (`DATE`, whose affinity
leaves integers as integers). A text that is not a date is left as it is (reading it then
fails loudly) rather than being lost. PostgreSQL keeps its native `date`
columns: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every date column, by table (`Day` columns of `pathway.store.models` at 0005).
DAYS: dict[str, tuple[str, ...]] = {
    "patients": ("birth_date",),
    "episodes": ("identified_on",),
    "events": ("occurred_on",),
    "milestones": ("anchor_on", "due_on", "overdue_on", "met_on"),
    "therapies": ("started_on",),
    "imaging": ("performed_on",),
    "reminders": ("due_on",),
}

# 'YYYY-MM-DD' -> days since 1970-01-01 (julianday of a date is at noon: exact after - .5).
_TO_DAYS = "CAST(julianday({c}) - 2440587.5 AS INTEGER)"
# days since 1970-01-01 -> 'YYYY-MM-DD', SQLAlchemy's SQLite text form.
_TO_TEXT = "date({c} * 86400, 'unixepoch')"
_EVENTS_TRIGGER = """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events is append-only'); END"""


def _convert(expression: str, where: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The event log refuses updates; this one rewrites only the form of its days.
    op.execute("DROP TRIGGER IF EXISTS events_no_update")
    for table, columns in DAYS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = {expression.format(c=column)} "
                       f"WHERE {where.format(c=column)}")
    op.execute(_EVENTS_TRIGGER)


def upgrade() -> None:
    _convert(_TO_DAYS, "typeof({c}) = 'text' AND julianday({c}) IS NOT NULL")


def downgrade() -> None:
    _convert(_TO_TEXT, "typeof({c}) = 'integer'")
