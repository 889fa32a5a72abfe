"""milestones: whether each is its episode's first of its kind

The KPIs count each episode's first milestone of a kind. Finding it meant looking, for every
milestone of the cohort, for an earlier one of the same kind: a third of a KPI report on
SQLite at 100,000 episodes (BENCHMARKS.md, KPI reports). The use cases now record it when they
open a milestone; this migration adds the column and works it out for the rows already there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("milestones", sa.Column("first_of_kind", sa.Boolean(), nullable=False,
                                          server_default=sa.true()))
    op.execute("UPDATE milestones SET first_of_kind = false WHERE EXISTS (SELECT 1 FROM "
               "milestones AS earlier WHERE earlier.episode_id = milestones.episode_id AND "
               "earlier.kind = milestones.kind AND earlier.id < milestones.id)")


def downgrade() -> None:
    with op.batch_alter_table("milestones") as batch:
        batch.drop_column("first_of_kind")
