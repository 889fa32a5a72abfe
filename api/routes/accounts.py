"""Administration of who may use the product, over the API (admins only): users, their
sessions, API keys, and the two logs an auditor reads (who read which patient's data; who
changed access). Every change is written to the administration log with the caller.

Creating a key or rotating one answers with the secret, once; these two POSTs do not take an
`Idempotency-Key` (a stored response would keep the secret): a retried create gets 409 (the
name is taken), a retried rotate adds one more secret, listed and revocable.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import Caller, require
from api.openapi import problems
from api.schemas import (
    MAX_ID,
    AccessEntryOut,
    AccessLogPage,
    AdminEntryOut,
    AdminLogPage,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    PasswordIn,
    RevokeIn,
    RoleIn,
    RotateIn,
    SessionList,
    SessionOut,
    SessionsEnded,
    UserIn,
    UserList,
    UserOut,
)
from api.strict import StrictRoute
from api.units import UnitDep
from pathway import access, audit
from pathway.permissions import Action
from pathway.sessions import live_sessions

router = APIRouter(prefix="/v1/admin", tags=["access"], route_class=StrictRoute)
log = logging.getLogger("pathway.api")
Admin = Annotated[Caller, Depends(require(Action.MANAGE_ACCESS))]
Username = Annotated[str, Path(min_length=1, max_length=80, description="The user name")]
KeyName = Annotated[str, Path(min_length=1, max_length=80, description="The key's name")]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description=(
    "Only entries older than this id (the previous page's `next_before`)"))]


@router.get("/users", response_model=UserList, summary="Every dashboard user")
def users(unit: UnitDep, caller: Admin) -> UserList:
    """Active and deactivated, by name; never a password hash."""
    return UserList(items=[UserOut.model_validate(u) for u in access.list_users(unit.session)])


@router.post("/users", status_code=201, response_model=UserOut, responses=problems(409),
             summary="Add a dashboard user")
def create_user(body: UserIn, unit: UnitDep, caller: Admin, response: Response) -> UserOut:
    """A weak password gets 422 naming `password` and why (zxcvbn's own advice)."""
    user = access.create_user(unit.session, username=body.username, password=body.password,
                              role=body.role, email=body.email,
                              display_name=body.display_name, now=unit.now, actor=caller.actor)
    log.info("user created by %s", caller.actor)
    response.headers["Location"] = f"/v1/admin/users/{user.username}"
    return UserOut.model_validate(user)


@router.post("/users/{username}/password", status_code=204, response_class=Response,
             responses=problems(404), summary="Set a user's password")
def set_password(username: Username, body: PasswordIn, unit: UnitDep,
                 caller: Admin) -> Response:
    """Every session of the user ends at once."""
    access.set_password(unit.session, username=username, password=body.password, now=unit.now,
                        actor=caller.actor)
    return Response(status_code=204)


@router.post("/users/{username}/role", response_model=UserOut, responses=problems(404),
             summary="Change a user's role")
def set_role(username: Username, body: RoleIn, unit: UnitDep, caller: Admin) -> UserOut:
    """It applies from the user's next request."""
    return UserOut.model_validate(access.set_role(
        unit.session, username=username, role=body.role, now=unit.now, actor=caller.actor))


@router.post("/users/{username}/deactivate", response_model=UserOut, responses=problems(404),
             summary="Stop a user logging in")
def deactivate(username: Username, unit: UnitDep, caller: Admin) -> UserOut:
    """Their sessions end at once; everything they recorded stays, under their name."""
    return UserOut.model_validate(access.set_active(
        unit.session, username=username, active=False, now=unit.now, actor=caller.actor))


@router.post("/users/{username}/activate", response_model=UserOut, responses=problems(404),
             summary="Let a deactivated user log in again")
def activate(username: Username, unit: UnitDep, caller: Admin) -> UserOut:
    """With the password they had."""
    return UserOut.model_validate(access.set_active(
        unit.session, username=username, active=True, now=unit.now, actor=caller.actor))


@router.get("/sessions", response_model=SessionList, summary="Dashboard sessions going now")
def sessions(unit: UnitDep, caller: Admin, username: Annotated[str | None, Query(
        min_length=1, max_length=80)] = None) -> SessionList:
    """Newest activity first; of one user if named. Never a session's token."""
    policy = unit.runtime.session_policy
    return SessionList(items=[SessionOut.model_validate(s) for s in live_sessions(
        unit.session, now=unit.now, policy=policy, username=username)])


@router.delete("/users/{username}/sessions", response_model=SessionsEnded,
               responses=problems(404), summary="End every session of a user")
def end_sessions(username: Username, unit: UnitDep, caller: Admin) -> SessionsEnded:
    """The user must log in again (on every browser)."""
    return SessionsEnded(ended=access.end_user_sessions(
        unit.session, username=username, now=unit.now, actor=caller.actor))


@router.get("/api-keys", response_model=ApiKeyList, summary="Every API key")
def keys(unit: UnitDep, caller: Admin) -> ApiKeyList:
    """Live, expired and revoked, by name (a rotated name lists each secret); never a
    secret, only its prefix."""
    return ApiKeyList(items=[ApiKeyOut.model_validate(k)
                             for k in access.list_api_keys(unit.session)])


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated,
             responses=problems(409), summary="Create an API key")
def create_key(body: ApiKeyIn, unit: UnitDep, caller: Admin, response: Response
               ) -> ApiKeyCreated:
    """The secret is in this response only."""
    key, raw = access.create_api_key(unit.session, name=body.name, role=body.role,
                                     now=unit.now, expires_in_days=body.expires_in_days,
                                     actor=caller.actor)
    log.info("api key created by %s", caller.actor)
    response.headers["Location"] = "/v1/admin/api-keys"
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), secret=raw)


@router.post("/api-keys/{name}/rotate", status_code=201, response_model=ApiKeyCreated,
             responses=problems(404), summary="A new secret beside the live one")
def rotate_key(name: KeyName, body: RotateIn, unit: UnitDep, caller: Admin) -> ApiKeyCreated:
    """Same name and role: the client moves to the new secret, then the old one is revoked
    by its prefix. The secret is in this response only."""
    key, raw = access.rotate_api_key(unit.session, name=name, now=unit.now,
                                     expires_in_days=body.expires_in_days, actor=caller.actor)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), secret=raw)


@router.post("/api-keys/{name}/revoke", response_model=ApiKeyList, responses=problems(404),
             summary="Revoke a key's secrets (or one, by prefix)")
def revoke_key(name: KeyName, body: RevokeIn, unit: UnitDep, caller: Admin) -> ApiKeyList:
    """The secrets revoked; they stop working at once."""
    revoked = access.revoke_api_key(unit.session, name=name, prefix=body.prefix, now=unit.now,
                                    actor=caller.actor)
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in revoked])


@router.get("/access-log", response_model=AccessLogPage, responses=problems(404),
            summary="Who read which patient's data")
def access_log(
    unit: UnitDep, caller: Admin,
    mrn: Annotated[str | None, Query(min_length=1, max_length=64, description=(
        "Reads naming this patient"))] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=120, description=(
        "Reads by `user:<name>` or `key:<name>`"))] = None,
    before: Before = None, limit: Limit = 100,
) -> AccessLogPage:
    """Newest first. A list or a search is one entry with its filter and the episodes it
    returned: it is found by `actor`, not by `mrn`."""
    if mrn is not None:
        found = [e for e in audit.reads_of_patient(unit.session, mrn, before_id=before,
                                                   limit=limit)
                 if actor is None or e.actor == actor]
    else:
        found = audit.reads_by(unit.session, actor, before_id=before, limit=limit)
    return AccessLogPage(items=[AccessEntryOut.model_validate(e) for e in found],
                         next_before=found[-1].id if len(found) == limit else None)


@router.get("/admin-log", response_model=AdminLogPage, summary="Who changed access")
def changes(
    unit: UnitDep, caller: Admin,
    target: Annotated[str | None, Query(min_length=1, max_length=120, description=(
        "Changes to this user or key name"))] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    before: Before = None, limit: Limit = 100,
) -> AdminLogPage:
    """Users created, passwords and roles changed, deactivations, keys created, rotated and
    revoked, sessions ended; newest first."""
    found = access.changes(unit.session, target=target, actor=actor, before_id=before,
                           limit=limit)
    return AdminLogPage(items=[AdminEntryOut.model_validate(e) for e in found],
                        next_before=found[-1].id if len(found) == limit else None)
