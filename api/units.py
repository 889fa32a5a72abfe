"""The unit of work of one request: a session, the time and the site's zone.

The edge owns the transaction: the dependency opens a session from the runtime, commits after
the route returns (before the response is sent, so a failed commit is an error response, never
a false success) and rolls back on any error. GET requests only read, so their transaction is
marked read-only (on SQLite it then neither takes nor waits for the write lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pathway.db import read_only
from pathway.runtime import Runtime

READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Unit:
    """What a route works with: one transaction, one `now`, the site's zone."""

    session: Session
    now: dt.datetime
    zone: ZoneInfo
    runtime: Runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built around."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def unit_of_work(request: Request) -> Iterator[Unit]:
    """Open a transaction for the request; commit on success, roll back on error."""
    runtime = runtime_of(request)
    session = runtime.sessions()
    if request.method in READS:
        read_only(session)  # on SQLite, a reader never takes or waits for the write lock
    try:
        yield Unit(session=session, now=runtime.now(), zone=runtime.settings.zone,
                   runtime=runtime)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


UnitDep = Annotated[Unit, Depends(unit_of_work, scope="function")]
