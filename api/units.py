"""The unit of work of one request: a session, the time and the site's zone.

The edge owns the transaction: the dependency opens a session from the runtime, commits after
the route returns (before the response is sent, so a failed commit is an error response, never
a false success) and rolls back on any error. GET requests only read, so their transaction is
marked read-only (on SQLite it then neither takes nor waits for the write lock).

The dependency runs on the event loop: making a session does not connect, so only the end of
the transaction (commit or rollback, then close: blocking database work) goes to a worker
thread, in one hop, shielded from cancellation so a client that hangs up cannot leave a
connection (or SQLite's write turn) held. Each hop to a thread costs more than the dependency's
own work (BENCHMARKS.md, workload 3).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from pathway.db import reader_bind
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


#: Set in a session's `info` once its transaction has been ended by `finish`.
FINISHED = "pathway_unit_finished"


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back), then close: the blocking end of a request's transaction."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.info[FINISHED] = True
        session.close()


def finish(unit: Unit, *, commit: bool) -> None:
    """End the unit's transaction now, in the calling thread (see `finishing`)."""
    if not unit.session.info.get(FINISHED):
        _end(unit.session, commit=commit)


def finishing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain (`def`) endpoint that ends its request's unit of work itself, at its end, in
    the worker thread it already runs in: committed if it returns (before the response is
    sent, so a failed commit is still an error response), rolled back if it raises. Without
    this the commit took a thread hop of its own after the endpoint, and each hop costs about
    as much CPU as the commit (BENCHMARKS.md, workload 3). The API's route class applies it;
    `functools.wraps` keeps the signature FastAPI reads the parameters from."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        units = [value for value in kwargs.values() if isinstance(value, Unit)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for unit in units:
                finish(unit, commit=False)
            raise
        for unit in units:
            finish(unit, commit=True)
        return result

    return run


async def unit_of_work(request: Request) -> AsyncIterator[Unit]:
    """Open a transaction for the request; commit on success, roll back on error (unless the
    endpoint ended it already, `finishing`)."""
    runtime = runtime_of(request)
    if request.method in READS:  # on SQLite, a reader never takes or waits for the write lock
        session = runtime.sessions(bind=reader_bind(runtime.engine))
    else:
        session = runtime.sessions()
    unit = Unit(session=session, now=runtime.now(), zone=runtime.settings.zone, runtime=runtime)
    try:
        yield unit
    except BaseException:
        if not session.info.get(FINISHED):
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_end, session, commit=False)
        raise
    if not session.info.get(FINISHED):
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, commit=True)


UnitDep = Annotated[Unit, Depends(unit_of_work, scope="function")]
