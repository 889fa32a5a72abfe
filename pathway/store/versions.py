"""Stored pathway versions: load one, find the current one, add a new one (and, for a
simulation's own empty database, drop the ones after the version it runs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, exists, func, select
from sqlalchemy.orm import Session

from pathway.definition import PathwayDefinition, parse_definition
from pathway.errors import Duplicate, NotFound
from pathway.store import sql
from pathway.store.models import Episode, PathwayVersion

# Versions are immutable once stored, so a process-wide cache is right for one database. It is
# keyed by the database too: a process may hold several (the simulator runs each version in a
# database of its own; the tests make one per test), and "version 2" can differ between them.
_cache: dict[tuple[str, int], PathwayDefinition] = {}


def load_definition(session: Session, version: int) -> PathwayDefinition:
    """The definition of one stored version."""
    bind = session.get_bind()
    url = bind.engine.url if isinstance(bind, Connection) else bind.url
    key = (url.render_as_string(), version)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    row = session.get(PathwayVersion, version)
    if row is None:
        raise NotFound("pathway version", version)
    definition = parse_definition(row.definition)
    _cache[key] = definition
    return definition


_NEWEST = select(func.max(PathwayVersion.version))  # built once: it runs for every opening


def current_version(session: Session) -> int:
    """The newest stored version: what new episodes start on."""
    newest = sql.scalar(session, _NEWEST, {})
    if newest is None:
        raise NotFound("pathway version", "any (run `pathway migrate`)")
    return int(newest)


def list_versions(session: Session) -> list[PathwayVersion]:
    """Every stored version, oldest first."""
    return list(session.scalars(select(PathwayVersion).order_by(PathwayVersion.version)))


def add_version(
    session: Session, *, definition: PathwayDefinition, note: str, now: dt.datetime
) -> PathwayVersion:
    """Store a new pathway version; in-flight episodes keep theirs."""
    if session.get(PathwayVersion, definition.version) is not None:
        raise Duplicate("pathway version", definition.version)
    row = PathwayVersion(
        version=definition.version, definition=definition.as_data(), note=note, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def drop_unused_after(session: Session, version: int) -> None:
    """Remove the versions after `version`, none of which any episode may be on (the
    simulator runs an older version in a fresh database where migrations stored newer ones).
    Raises ValueError if an episode is on one of them."""
    if session.scalar(select(exists().where(Episode.pathway_version > version))):
        raise ValueError(f"episodes are on a pathway version after {version}")
    session.execute(delete(PathwayVersion).where(PathwayVersion.version > version))

