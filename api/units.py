"""The unit of work of one API request: a session, the time and the site's zone, and the one
way its transaction ends.

The edge owns the transaction, and the API's route class (`api.strict.StrictRoute`) is the one
place that ends it:

- the endpoint's own run ends it, in the worker thread the (plain `def`) endpoint already runs
  in: committed when the endpoint returns (before the response is sent, so a failed commit is
  an error response, never a false success), rolled back when it raises (`in_one_transaction`);
- a request refused before its endpoint ran (authentication, a role, a validation error, a
  replayed idempotency key) is rolled back by the route's handler after it answered
  (`roll_back_unended`), in one hop to a worker thread shielded from cancellation, so a client
  that hangs up cannot leave a connection (or SQLite's write turn) held.

The `Unit` ends once (`Unit.end`); nothing else commits, rolls back or closes its session.
Making the unit does not connect, so the dependency runs on the event loop; GET requests only
read, so their transaction is marked read-only (on SQLite it then neither takes nor waits for
the write lock). Each hop to a thread costs more than the dependency's own work
(BENCHMARKS.md, workload 3): that is why the commit happens inside the endpoint's hop.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from pathway.runtime import Runtime
from pathway.store.db import reader_bind

READS = frozenset({"GET", "HEAD"})
#: Where a request's unit is kept (`request.state`), for its route to end it.
STATE_KEY = "pathway_unit"


@dataclass(eq=False)
class Unit:
    """What a route works with: one transaction, one `now`, the site's zone."""

    session: Session
    now: dt.datetime
    zone: ZoneInfo
    runtime: Runtime
    #: Whether the transaction only reads (a GET's): a write must take its own transaction.
    read_only: bool = False
    #: Whether the transaction has been committed or rolled back (and the session closed).
    ended: bool = field(default=False, init=False)

    def end(self, *, commit: bool) -> None:
        """Commit (or roll back), then close; a second call does nothing. Blocking: call it
        from a worker thread."""
        if self.ended:
            return
        self.ended = True
        try:
            if commit:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built around."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def unit_of_work(request: Request) -> Unit:
    """The request's unit of work (FastAPI makes it once per request); its route ends it."""
    runtime = runtime_of(request)
    if request.method in READS:  # on SQLite, a reader never takes or waits for the write lock
        session = runtime.sessions(bind=reader_bind(runtime.engine))
    else:
        session = runtime.sessions()
    unit = Unit(session=session, now=runtime.now(), zone=runtime.settings.zone, runtime=runtime,
                read_only=request.method in READS)
    setattr(request.state, STATE_KEY, unit)
    return unit


def in_one_transaction(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint, ending its request's unit of work at its end, in the worker thread it
    runs in: committed if it returns, rolled back if it raises. `functools.wraps` keeps the
    signature FastAPI reads the parameters from. The API's endpoints are plain functions (the
    database work blocks); a coroutine endpoint is refused here rather than ended elsewhere."""
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: API endpoints are plain functions (def)")

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        units = [value for value in kwargs.values() if isinstance(value, Unit)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for unit in units:
                unit.end(commit=False)
            raise
        for unit in units:
            unit.end(commit=True)
        return result

    return run


async def roll_back_unended(request: Request) -> None:
    """After the route answered: roll back a unit its endpoint never ended (the request was
    refused before the endpoint ran)."""
    unit = getattr(request.state, STATE_KEY, None)
    if isinstance(unit, Unit) and not unit.ended:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(unit.end, commit=False)


UnitDep = Annotated[Unit, Depends(unit_of_work)]
