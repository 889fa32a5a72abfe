"""indexes for cohort reports

KPI reports and the simulator select a cohort by day 0 (`episodes.identified_on`): without an
index every report reads every episode, however short its date range. The entered-in-error
check of every report looks up the closing events only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_episodes_identified_on", "episodes", ["identified_on"], unique=False)
    op.create_index("ix_events_closings", "events", ["episode_id"], unique=False,
                    sqlite_where=sa.text("name = 'close'"),
                    postgresql_where=sa.text("name = 'close'"))


def downgrade() -> None:
    op.drop_index("ix_events_closings", table_name="events")
    op.drop_index("ix_episodes_identified_on", table_name="episodes")
