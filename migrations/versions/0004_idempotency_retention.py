"""index for purging stored idempotency responses

The scheduler deletes the stored responses of `Idempotency-Key`s after their retention
(`pathway.retention`); it finds the oldest by their creation time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
