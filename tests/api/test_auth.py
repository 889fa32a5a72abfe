"""Authentication (401) and roles (403) on every route."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import select

from api.openapi import PUBLIC_PATHS
from api.routes import accounts, admin, episodes, ops, pathway, reminders
from pathway import access
from pathway.store.db import transaction
from pathway.store.models import ApiKey, EventRecord
from tests.api.support import ApiHarness
from tests.builders import intake

ALL = {"integration", "coordinator", "clinician", "admin"}

# (method, path, body, roles allowed); `{e}` is an episode id, `{r}` one of its reminders.
ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/readyz", None, ALL),
    ("GET", "/metrics", None, ALL),
    ("POST", "/v1/episodes", {}, ALL),
    ("GET", "/v1/episodes", None, ALL),
    ("GET", "/v1/episodes/{e}", None, ALL),
    ("POST", "/v1/episodes/{e}/events", {"event": "record_contact",
                                         "data": {"kind": "liaison_monitoring"}}, ALL),
    ("GET", "/v1/episodes/{e}/events", None, ALL),
    ("GET", "/v1/episodes/{e}/events/1", None, ALL),
    ("GET", "/v1/episodes/{e}/fhir", None, ALL),
    ("GET", "/v1/reminders", None, {"coordinator", "clinician", "admin"}),
    ("GET", "/v1/reminders/{r}", None, {"coordinator", "clinician", "admin"}),
    ("POST", "/v1/reminders/{r}/acknowledge", {}, {"coordinator", "clinician", "admin"}),
    ("POST", "/v1/reminders/{r}/snooze", {"until": "2026-03-10", "reason": "waiting"},
     {"coordinator", "clinician", "admin"}),
    ("POST", "/v1/reminders/{r}/assign", {"assignee": "sam"}, {"coordinator", "admin"}),
    ("POST", "/v1/reminders/{r}/unassign", {}, {"coordinator", "admin"}),
    ("GET", "/v1/pathway", None, ALL),
    ("GET", "/v1/pathway/versions", None, ALL),
    ("GET", "/v1/pathway/versions/1", None, ALL),
    ("GET", "/v1/kpis", None, {"coordinator", "clinician", "admin"}),
    ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "event_names": ["*"]},
     {"admin"}),
    ("GET", "/v1/webhooks", None, {"admin"}),
    ("GET", "/v1/deliveries", None, {"admin"}),
    ("GET", "/v1/admin/users", None, {"admin"}),
    ("POST", "/v1/admin/users", {"username": "new-user", "password": "staple horse battery",
                                 "role": "coordinator"}, {"admin"}),
    ("GET", "/v1/admin/sessions", None, {"admin"}),
    ("GET", "/v1/admin/api-keys", None, {"admin"}),
    ("POST", "/v1/admin/api-keys", {"name": "new-key", "role": "integration"}, {"admin"}),
    ("GET", "/v1/admin/access-log", None, {"admin"}),
    ("GET", "/v1/admin/admin-log", None, {"admin"}),
    # Last: it moves the episode on, resolving the reminder the routes above act on.
    ("POST", "/v1/episodes/{e}/events", {"event": "start_conservative_care", "data": {}},
     {"integration", "clinician", "admin"}),
]


def _setup(api: ApiHarness) -> dict[str, int]:
    """An episode opened late enough to have a reminder raised already."""
    api.clock.to_day(5)
    episode = api.open()
    return {"e": episode["id"], "r": episode["reminders"][0]["id"]}


def _call(api: ApiHarness, method: str, path: str, body: dict[str, Any] | None,
          headers: dict[str, str]) -> Any:
    if path == "/v1/episodes" and method == "POST":
        body = intake()
    return api.client.request(method, path, json=body, headers=headers)


def test_every_route_but_healthz_needs_a_key(api: ApiHarness) -> None:
    ids = _setup(api)
    for method, path, body, _roles in ROUTES:
        for headers in ({}, {"Authorization": "Bearer pw_not-a-key"},
                        {"Authorization": "Basic dXNlcjpwdw=="}):
            response = _call(api, method, path.format(**ids), body, headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("role", sorted(ALL))
def test_roles(api: ApiHarness, role: str) -> None:
    ids = _setup(api)
    for method, path, body, roles in ROUTES:
        response = _call(api, method, path.format(**ids), body, api.auth(role))
        if role in roles:
            assert response.status_code < 400, (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.json()["type"] == "urn:pathway:problem:forbidden"


def test_revoked_key_is_refused(api: ApiHarness) -> None:
    assert api.client.get("/v1/episodes", headers=api.auth("coordinator")).status_code == 200
    with transaction(api.db.sessions) as session:
        access.revoke_api_key(session, name=api.names["coordinator"], now=api.clock())
    refused = api.client.get("/v1/episodes", headers=api.auth("coordinator"))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown, revoked or expired API key"


def test_a_key_expires_and_its_last_use_is_written_down(api: ApiHarness) -> None:
    """A key made to last a day works until then and not after; its last use is written down
    (at most every few minutes, so a busy client does not write on every request), on a GET
    as on a POST (with the request's own transaction: a request refused is not a use)."""
    with transaction(api.db.sessions) as session:
        key, raw = access.create_api_key(session, name="short-lived", role="integration",
                                         now=api.clock(), expires_in_days=1)
    header = {"Authorization": f"Bearer {raw}"}

    def last_used() -> dt.datetime | None:
        with api.db.sessions() as session:
            return session.get_one(ApiKey, key.id).last_used_at

    assert last_used() is None
    assert api.client.get("/v1/episodes", headers=header).status_code == 200
    first = api.clock()
    assert last_used() == first
    api.clock.now += dt.timedelta(minutes=1)
    assert api.client.get("/v1/episodes", headers=header).status_code == 200
    assert last_used() == first  # not written again within the minutes
    api.clock.now += access.TOUCH_EVERY
    assert api.client.post("/v1/episodes", json={}, headers=header).status_code == 422
    assert last_used() == first  # refused: rolled back with the request
    assert api.client.post("/v1/episodes", json=intake(), headers=header).status_code == 201
    assert last_used() == api.clock()
    api.clock.now += dt.timedelta(days=1)
    refused = api.client.get("/v1/episodes", headers=header)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown, revoked or expired API key"


def test_a_rotated_key_works_beside_the_old_until_that_is_revoked(api: ApiHarness) -> None:
    name = api.names["integration"]
    old = api.auth("integration")
    with transaction(api.db.sessions) as session:
        new_key, raw = access.rotate_api_key(session, name=name, now=api.clock())
    new = {"Authorization": f"Bearer {raw}"}
    for header in (old, new):
        assert api.client.get("/v1/episodes", headers=header).status_code == 200
    with transaction(api.db.sessions) as session:
        old_prefix = next(k.prefix for k in access.list_api_keys(session)
                          if k.name == name and k.id != new_key.id)
        access.revoke_api_key(session, name=name, prefix=old_prefix, now=api.clock())
    assert api.client.get("/v1/episodes", headers=old).status_code == 401
    assert api.client.get("/v1/episodes", headers=new).status_code == 200
    opened = api.client.post("/v1/episodes", json=intake(), headers=new)
    assert opened.status_code == 201
    with api.db.sessions() as session:  # the same client as before: the same actor
        actors = session.scalars(select(EventRecord.actor)).all()
        assert actors == [f"key:{name}"]


def test_a_refused_write_changes_nothing(api: ApiHarness) -> None:
    ids = _setup(api)
    response = api.send(ids["e"], "start_conservative_care", 5, role="coordinator")
    assert response.status_code == 403
    episode = api.client.get(f"/v1/episodes/{ids['e']}", headers=api.auth()).json()
    assert episode["state"] == "assessed" and episode["version"] == 1


def _graph(dependant: Dependant) -> list[Dependant]:
    """Every dependency FastAPI solves for a route, once per place it is named (FastAPI
    solves a cached dependency's own dependencies again wherever it is named)."""
    return [dependant, *(d for sub in dependant.dependencies for d in _graph(sub))]


def test_each_route_authenticates_once_in_a_small_dependency_graph() -> None:
    """Every authenticated API route names its guard once (for a POST, through its
    idempotency), and FastAPI solves at most six dependencies for it (a POST used to take
    nine: each solve costs about as much as a statement, BENCHMARKS.md workload 3)."""
    routes = [r for module in (ops, episodes, reminders, pathway, admin, accounts)
              for r in module.router.routes
              if isinstance(r, APIRoute) and r.path not in PUBLIC_PATHS]
    assert len(routes) >= 20
    for route in routes:
        graph = _graph(route.dependant)
        guards = [d.call for d in graph
                  if getattr(d.call, "__name__", "").startswith("require_")]
        assert len(guards) == 1, route.path
        limit = 6 if "POST" in route.methods else 4
        assert len(graph) <= limit, (route.path, [getattr(d.call, "__name__", d.call)
                                                  for d in graph])
