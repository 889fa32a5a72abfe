"""Who is calling: API keys (`Authorization: Bearer pw_...`) and what each role may do.

| role          | may                                                                  |
|---------------|----------------------------------------------------------------------|
| `integration` | open episodes, send events, read episodes, events, FHIR, the pathway |
| `clinician`   | send events, act on reminders (acknowledge, snooze), read            |
| `coordinator` | act on reminders (acknowledge, snooze, assign), read, KPIs           |
| `admin`       | everything, including webhooks and dead letters                      |

No key, a malformed header or an unknown or revoked key gets 401; a role that may not do
something gets 403. The actor recorded in the event log and reminder history is
`key:<name>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ApiProblem
from api.units import UnitDep
from pathway.access import find_api_key
from pathway.vocabulary import Role

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer pw_...`")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pathway"'}

READ = (Role.INTEGRATION, Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
OPEN_EPISODES = (Role.INTEGRATION, Role.ADMIN)
SEND_EVENTS = (Role.INTEGRATION, Role.CLINICIAN, Role.ADMIN)
READ_REMINDERS = (Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
ACT_ON_REMINDERS = (Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
ASSIGN_REMINDERS = (Role.COORDINATOR, Role.ADMIN)
READ_KPIS = (Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
ADMINISTER = (Role.ADMIN,)


@dataclass(frozen=True)
class Caller:
    """An authenticated API key."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the caller is recorded in the event log and histories."""
        return f"key:{self.name}"


def authenticate(
    unit: UnitDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller behind the bearer token, or 401."""
    if credentials is None or not credentials.credentials:
        raise ApiProblem(401, "unauthenticated", "send an API key as `Authorization: Bearer`",
                         headers=CHALLENGE)
    key = find_api_key(unit.session, credentials.credentials)
    if key is None:
        raise ApiProblem(401, "unauthenticated", "unknown or revoked API key",
                         headers=CHALLENGE)
    return Caller(name=key.name, role=key.role)


CallerDep = Annotated[Caller, Depends(authenticate)]


def require(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency admitting only `roles` (admin is always admitted)."""
    allowed = {r.value for r in roles} | {Role.ADMIN.value}

    def check(caller: CallerDep) -> Caller:
        if caller.role not in allowed:
            raise ApiProblem(403, "forbidden",
                             f"role {caller.role} may not do this; allowed: "
                             f"{', '.join(sorted(allowed))}")
        return caller

    return check
