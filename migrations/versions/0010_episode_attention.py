"""the worklist's "most pressing first": an episode's attention, kept by the database;
sorting by name; saved worklist views

`episodes.attention` is the priority of the episode's most pressing unresolved, un-snoozed
reminder: 0 stat, 1 urgent, 2 routine, 3 none. The worklist orders by it, then by the most
overdue milestone, walking `ix_episodes_attention_next_overdue_at` page by page.

Reminders are written by several paths (an event's use case, the per-episode scan, the
set-based scan, acknowledge, snooze and its wake, retention): triggers on `reminders` keep the
column true whichever path wrote, in the same transaction, and write the episode only when its
attention changes (so an escalation or an acknowledgement of a routine reminder locks nothing).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: What drives the order: a reminder awaiting action or acknowledged (a snoozed one waits).
_COUNTED = "status IN ('open', 'acknowledged')"
_RANK = "CASE priority WHEN 'stat' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END"


def _attention_of(episode: str) -> str:
    return (f"(SELECT coalesce(min({_RANK}), 3) FROM reminders "
            f"WHERE episode_id = {episode} AND {_COUNTED})")


#: Unresolved reminders of a milestone that has a newer reminder: the heads-ups (`x_due`)
#: whose overdue reminder (`x_overdue`) was raised while they were still open.
_SUPERSEDED_WHERE = """status IN ('open', 'acknowledged', 'snoozed') AND milestone_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM reminders AS newer WHERE newer.milestone_id = reminders.milestone_id
                AND newer.id > reminders.id)"""


def _one_reminder_per_task() -> None:
    """Resolve the heads-ups already superseded (the code does it as the overdue is raised
    from now on), each at its overdue's raise time, with its own history row."""
    bind = op.get_bind()
    ids = [int(i) for (i,) in bind.execute(sa.text(
        f"SELECT id FROM reminders WHERE {_SUPERSEDED_WHERE}"))]
    if not ids:
        return
    op.execute(f"""UPDATE reminders SET status = 'resolved', resolution = 'superseded_by_overdue',
        escalate_at = NULL, resolved_at = (SELECT min(newer.raised_at) FROM reminders AS newer
            WHERE newer.milestone_id = reminders.milestone_id AND newer.id > reminders.id)
        WHERE {_SUPERSEDED_WHERE}""")
    detail = "CAST(:detail AS JSON)" if bind.dialect.name == "postgresql" else ":detail"
    statement = sa.text(f"""INSERT INTO reminder_actions (reminder_id, at, actor, action, detail)
        SELECT id, resolved_at, 'system:migration', 'resolved', {detail} FROM reminders
        WHERE id = :id""")
    bind.execute(statement, [{"id": i, "detail": '{"resolution": "superseded_by_overdue"}'}
                             for i in ids])


def upgrade() -> None:
    _one_reminder_per_task()
    op.add_column("episodes", sa.Column("attention", sa.SmallInteger(), nullable=False,
                                        server_default="3"))
    op.execute(f"UPDATE episodes SET attention = {_attention_of('episodes.id')}")
    op.create_index("ix_episodes_attention_next_overdue_at", "episodes",
                    ["attention", "next_overdue_at"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.create_index("ix_patients_name", "patients", ["name"])
    op.create_index("ix_reminders_status_priority_due", "reminders",
                    ["status", "priority", "due_on"])
    op.create_index("ix_reminders_assigned_to", "reminders", ["assigned_to"],
                    sqlite_where=sa.text("assigned_to IS NOT NULL"),
                    postgresql_where=sa.text("assigned_to IS NOT NULL"))
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("username", "name", name="uq_saved_views_username_name"),
    )


def _postgresql_triggers() -> None:
    op.execute(f"""
        CREATE OR REPLACE FUNCTION episode_attention_refresh(episode integer) RETURNS void AS $$
        BEGIN
            UPDATE episodes SET attention = {_attention_of('episode')}
            WHERE id = episode AND attention IS DISTINCT FROM {_attention_of('episode')};
        END; $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE OR REPLACE FUNCTION reminders_attention() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM episode_attention_refresh(OLD.episode_id);
                RETURN OLD;
            END IF;
            PERFORM episode_attention_refresh(NEW.episode_id);
            RETURN NEW;
        END; $$ LANGUAGE plpgsql""")
    op.execute("""CREATE TRIGGER reminders_attention AFTER INSERT OR DELETE OR UPDATE OF
        status, priority ON reminders FOR EACH ROW EXECUTE FUNCTION reminders_attention()""")


def _sqlite_triggers() -> None:
    for name, when, row in (("insert", "INSERT", "NEW"), ("delete", "DELETE", "OLD"),
                            ("update", "UPDATE OF status, priority", "NEW")):
        op.execute(f"""CREATE TRIGGER reminders_attention_{name} AFTER {when} ON reminders
            BEGIN
                UPDATE episodes SET attention = {_attention_of(f'{row}.episode_id')}
                WHERE id = {row}.episode_id
                  AND attention IS NOT {_attention_of(f'{row}.episode_id')};
            END""")


def downgrade() -> None:
    op.drop_table("saved_views")
    op.drop_index("ix_patients_name", table_name="patients")
    op.drop_index("ix_reminders_assigned_to", table_name="reminders")
    op.drop_index("ix_reminders_status_priority_due", table_name="reminders")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS reminders_attention ON reminders")
        op.execute("DROP FUNCTION IF EXISTS reminders_attention()")
        op.execute("DROP FUNCTION IF EXISTS episode_attention_refresh(integer)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS reminders_attention_{name}")
    op.drop_index("ix_episodes_attention_next_overdue_at", table_name="episodes")
    # Both databases drop a column in place (SQLite since 3.35); a batch copy of `episodes`
    # would trip the foreign keys that point at it.
    op.execute("ALTER TABLE episodes DROP COLUMN attention")
