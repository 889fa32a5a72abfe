"""Who is calling: API keys (`Authorization: Bearer pw_...`), and route guards that check the
caller's role against `pathway.permissions` (the one table of rights, shared with the
dashboard): integration opens episodes and sends events; clinician sends events and acts on
reminders; coordinator acts on and assigns reminders; admin does everything, including
webhooks and dead letters; every role reads episodes and the pathway.

No key, a malformed header or an unknown, revoked or expired key gets 401; a role that may not do
something gets 403. The actor recorded in the event log and reminder history is
`key:<name>`. An API request whose body would be refused is authenticated before the body
is judged (`unauthenticated`, asked by `api.middleware.BodyGuard`): 401 comes first.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker

from api.problems import ApiProblem
from api.units import Unit, UnitDep
from pathway.access import find_api_key, key_needs_touch, touch_api_key
from pathway.permissions import Action, may, roles_allowed
from pathway.store.db import transaction

#: The OpenAPI security scheme every authenticated route names (`api.openapi` adds it).
SECURITY_SCHEME = {"HTTPBearer": {"type": "http", "scheme": "bearer",
                                  "description": "An API key: `Authorization: Bearer pw_...`"}}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pathway"'}
NO_KEY = "send an API key as `Authorization: Bearer`"
UNKNOWN_KEY = "unknown, revoked or expired API key"

@dataclass(frozen=True)
class Caller:
    """An authenticated API key."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the caller is recorded in the event log and histories."""
        return f"key:{self.name}"


def token_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value (the scheme in any case),
    else None."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if token and scheme.lower() == "bearer" else None


def bearer_token(request: Request) -> str | None:
    """The request's bearer token, else None: what FastAPI's `HTTPBearer(auto_error=False)`
    gives, read here instead of as one more dependency (each costs the request more than
    this does; BENCHMARKS.md, workload 3)."""
    return token_of(request.headers.get("Authorization"))


def authenticate(request: Request, unit: Unit) -> Caller:
    """The caller behind the bearer token, or 401."""
    token = bearer_token(request)
    if token is None:
        raise ApiProblem(401, "unauthenticated", NO_KEY, headers=CHALLENGE)
    key = find_api_key(unit.session, token, unit.now)
    if key is None:
        raise ApiProblem(401, "unauthenticated", UNKNOWN_KEY, headers=CHALLENGE)
    if key_needs_touch(key, unit.now):
        if unit.read_only:  # a GET's transaction only reads: its own short one writes
            with transaction(unit.runtime.sessions) as writer:
                touch_api_key(writer, key, unit.now)
        else:
            touch_api_key(unit.session, key, unit.now)
    return Caller(name=key.name, role=key.role)


def unauthenticated(token: str | None, sessions: sessionmaker[Session],
                    now: dt.datetime) -> ApiProblem | None:
    """The 401 for a request without a live key, else None: for a refusal made before the
    request has a unit of work (a session of its own, read and closed here)."""
    if token is None:
        return ApiProblem(401, "unauthenticated", NO_KEY, headers=CHALLENGE)
    with sessions() as session:
        if find_api_key(session, token, now) is None:
            return ApiProblem(401, "unauthenticated", UNKNOWN_KEY, headers=CHALLENGE)
    return None


def check(caller: Caller, action: Action, what: str | None = None) -> None:
    """403 unless the caller's role may do `action` (named `what` in the message)."""
    if not may(caller.role, action):
        what = what or action.value.replace("_", " ")
        raise ApiProblem(403, "forbidden",
                         f"role {caller.role} may not {what}; allowed: "
                         f"{', '.join(roles_allowed(action))}")


@functools.cache
def require(action: Action) -> Callable[[Request, Unit], Caller]:
    """A dependency: the caller behind the bearer token (401), admitted only if its role `may`
    do `action` (403). One dependency that authenticates and checks, not a check depending
    on an authentication dependency: FastAPI solves the dependencies of a dependency again
    wherever it is named, even when its value is cached, and each solve costs a request about
    as much as a statement (BENCHMARKS.md, workload 3). One function per action, so a route
    naming it twice (directly and through `api.idempotency.idempotent`) authenticates once."""

    def permitted(request: Request, unit: UnitDep) -> Caller:
        caller = authenticate(request, unit)
        check(caller, action)
        return caller

    permitted.__name__ = permitted.__qualname__ = f"require_{action.value}"
    return permitted
