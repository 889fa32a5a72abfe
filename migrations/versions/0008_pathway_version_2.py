"""pathway version 2, the fracture liaison data set, becomes the current version

Stores the packaged `definitions/v2.json` (PATHWAY.md, "Pathway version 2": the FLS
assessment, DXA, falls assessment, therapy recommendation, strength and balance and the
treatment gap). New episodes open on the newest stored version, so on this one from now on;
episodes already open keep the version they were opened on. A database where a site has
already stored a version 2 of its own gets this one as the next number instead (its `version`
field set to match), so nothing stored is changed. Downgrade removes it again, unless an
episode has been opened on it (then it refuses, naming how many).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE = "PATHWAY.md version 2: the fracture liaison data set"
_VERSIONS = sa.table("pathway_versions", sa.column("version", sa.Integer),
                     sa.column("definition", sa.JSON), sa.column("note", sa.String),
                     sa.column("created_at"))  # as each database keeps it (below)
_EPISODES = sa.table("episodes", sa.column("pathway_version", sa.Integer))


def upgrade() -> None:
    bind = op.get_bind()
    newest = bind.execute(sa.select(sa.func.max(_VERSIONS.c.version))).scalar() or 0
    number = max(2, newest + 1)
    definition = json.loads(
        resources.files("pathway.definitions").joinpath("v2.json").read_text())
    definition["version"] = number
    note = NOTE if number == 2 else f"{NOTE} (stored as {number}: 2 was taken)"
    # SQLite keeps instants as integer microseconds since 1970 (migration 0003).
    now = dt.datetime.now(dt.UTC)
    created: object = ((now - dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
                       // dt.timedelta(microseconds=1) if bind.dialect.name == "sqlite"
                       else now.replace(tzinfo=None))
    bind.execute(_VERSIONS.insert().values(version=number, definition=definition, note=note,
                                           created_at=created))


def downgrade() -> None:
    bind = op.get_bind()
    number = bind.execute(sa.select(sa.func.max(_VERSIONS.c.version))
                          .where(_VERSIONS.c.note.startswith(NOTE))).scalar()
    if number is None:
        return
    used = bind.execute(sa.select(sa.func.count()).select_from(_EPISODES)
                        .where(_EPISODES.c.pathway_version == number)).scalar() or 0
    if used:
        raise RuntimeError(f"{used} episodes are on pathway version {number}: it cannot be "
                           "removed (restore a backup taken before the upgrade instead)")
    bind.execute(_VERSIONS.delete().where(_VERSIONS.c.version == number))
