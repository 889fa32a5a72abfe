"""Who may do what, on every route of the app (enumerated from `app.routes`, so a new route
without a policy here fails): no credentials, malformed and revoked keys, each role's key,
each user's dashboard session, a deactivated or demoted user's session, a forged or tampered
session cookie, another user's CSRF token. Only the allowed ones succeed. Login is throttled
per user name and per client address. Every dashboard page carries the security headers.

The policy is one set of rights (`pathway.permissions`), written out again here route by
route so that a change to it shows up as a failure: the API and the dashboard agree. Any
dashboard user (coordinator, clinician, admin) may view pages and acknowledge or snooze
reminders; recording events is for clinicians and admins, assigning reminders for
coordinators and admins, retrying dead letters and /admin for admins only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from api.app import create_app
from api.dashboard.web import Dashboard
from pathway import access
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction
from pathway.store.models import Delivery, User
from pathway.throttle import ThrottlePolicy
from tests.api.support import ApiHarness, make_harness
from tests.builders import DAY0, intake
from tests.dashboard.support import PASSWORD, csrf_of
from tests.faults.ledger import Entry
from tests.scheduler.support import subscribe
from tests.support.databases import TestDatabase

KEYS = frozenset({"integration", "coordinator", "clinician", "admin"})
READERS = frozenset({"coordinator", "clinician", "admin"})
BOARD = frozenset({"coordinator", "clinician", "admin"})  # dashboard roles


@dataclass(frozen=True)
class Rule:
    """Who may call a route: anyone, API keys of these roles, or dashboard sessions."""

    via: str  # public | key | session
    roles: frozenset[str] = frozenset()


PUBLIC = Rule("public")


def key(*roles: str) -> Rule:
    return Rule("key", frozenset(roles) or KEYS)


def session(*roles: str) -> Rule:
    return Rule("session", frozenset(roles) or BOARD)


POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): PUBLIC, ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/healthz"): PUBLIC, ("GET", "/static"): PUBLIC,
    ("GET", "/readyz"): key(), ("GET", "/metrics"): key(),
    ("POST", "/v1/episodes"): key(),
    ("GET", "/v1/episodes"): key(),
    ("GET", "/v1/episodes/{episode_id}"): key(),
    ("POST", "/v1/episodes/{episode_id}/events"): key("integration", "clinician", "admin"),
    ("GET", "/v1/episodes/{episode_id}/events"): key(),
    ("GET", "/v1/episodes/{episode_id}/events/{seq}"): key(),
    ("GET", "/v1/episodes/{episode_id}/fhir"): key(),
    ("GET", "/v1/reminders"): key(*READERS),
    ("GET", "/v1/reminders/{reminder_id}"): key(*READERS),
    ("POST", "/v1/reminders/{reminder_id}/acknowledge"): key(*READERS),
    ("POST", "/v1/reminders/{reminder_id}/snooze"): key(*READERS),
    ("POST", "/v1/reminders/{reminder_id}/assign"): key("coordinator", "admin"),
    ("POST", "/v1/reminders/{reminder_id}/unassign"): key("coordinator", "admin"),
    ("GET", "/v1/pathway"): key(), ("GET", "/v1/pathway/versions"): key(),
    ("GET", "/v1/pathway/versions/{version}"): key(),
    ("GET", "/v1/kpis"): key(*READERS),
    ("POST", "/v1/webhooks"): key("admin"), ("GET", "/v1/webhooks"): key("admin"),
    ("GET", "/v1/webhooks/{subscription_id}"): key("admin"),
    ("DELETE", "/v1/webhooks/{subscription_id}"): key("admin"),
    ("GET", "/v1/deliveries"): key("admin"),
    ("POST", "/v1/deliveries/{delivery_id}/retry"): key("admin"),
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): PUBLIC,
    ("GET", "/"): session(), ("GET", "/episodes/{episode_id}"): session(),
    ("GET", "/episodes/new"): session(), ("POST", "/episodes/new"): session(),
    ("POST", "/episodes/{episode_id}/events"): session("clinician", "admin"),
    ("GET", "/reminders"): session(),
    ("POST", "/reminders/{reminder_id}/acknowledge"): session(),
    ("POST", "/reminders/{reminder_id}/snooze"): session(),
    ("POST", "/reminders/{reminder_id}/assign"): session("coordinator", "admin"),
    ("POST", "/reminders/{reminder_id}/unassign"): session("coordinator", "admin"),
    ("GET", "/worklist.csv"): session(), ("POST", "/views"): session(),
    ("POST", "/views/{view_id}/delete"): session(),
    ("POST", "/reminders/bulk"): session(), ("POST", "/reminders/bulk/apply"): session(),
    ("POST", "/deliveries/{delivery_id}/retry"): session("admin"),
    ("GET", "/kpis"): session(), ("GET", "/pathway"): session(),
    ("GET", "/admin"): session("admin"),
    ("POST", "/admin/users"): session("admin"),
    ("POST", "/admin/users/{username}/role"): session("admin"),
    ("POST", "/admin/users/{username}/password"): session("admin"),
    ("POST", "/admin/users/{username}/active"): session("admin"),
    ("POST", "/admin/users/{username}/sessions/end"): session("admin"),
    ("POST", "/admin/api-keys"): session("admin"),
    ("POST", "/admin/api-keys/{name}/rotate"): session("admin"),
    ("POST", "/admin/api-keys/{name}/revoke"): session("admin"),
    ("GET", "/admin/access"): session("admin"),
    ("GET", "/v1/admin/users"): key("admin"), ("POST", "/v1/admin/users"): key("admin"),
    ("POST", "/v1/admin/users/{username}/password"): key("admin"),
    ("POST", "/v1/admin/users/{username}/role"): key("admin"),
    ("POST", "/v1/admin/users/{username}/deactivate"): key("admin"),
    ("POST", "/v1/admin/users/{username}/activate"): key("admin"),
    ("GET", "/v1/admin/sessions"): key("admin"),
    ("DELETE", "/v1/admin/users/{username}/sessions"): key("admin"),
    ("GET", "/v1/admin/api-keys"): key("admin"), ("POST", "/v1/admin/api-keys"): key("admin"),
    ("POST", "/v1/admin/api-keys/{name}/rotate"): key("admin"),
    ("POST", "/v1/admin/api-keys/{name}/revoke"): key("admin"),
    ("GET", "/v1/admin/access-log"): key("admin"),
    ("GET", "/v1/admin/admin-log"): key("admin"),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside."""
    found = set()
    for context in iter_route_contexts(app.router.routes):
        methods = getattr(context.original_route, "methods", None) or {"GET"}
        found |= {(m, context.path) for m in methods if m != "HEAD"}
    return found


@dataclass
class Credential:
    """One way of calling: headers, a browser with a session, and the role it should have."""

    name: str
    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)
    key_role: str | None = None      # a live key of this role
    session_role: str | None = None  # a live dashboard session of this role
    csrf: str = "no-token"
    foreign_csrf: bool = False       # its forms carry another session's token


def _forged_cookie(payload: dict[str, Any]) -> str:
    """A cookie in the form of a signed, stateless session (what the dashboard once used)."""
    return base64.b64encode(json.dumps(payload).encode()).decode() + ".forged.signature"


@dataclass
class World:
    api: ApiHarness
    app: FastAPI
    ids: dict[str, int]
    credentials: list[Credential]
    clients: list[TestClient]


def _browser(app: FastAPI, username: str | None, clients: list[TestClient]) -> tuple[
        TestClient, str]:
    browser = TestClient(app, raise_server_exceptions=False)
    browser.__enter__()
    clients.append(browser)
    if username is None:
        return browser, csrf_of(browser.get("/login").text)
    page = browser.get("/login")
    done = browser.post("/login", data={"username": username, "password": PASSWORD,
                                        "csrf_token": csrf_of(page.text)},
                        follow_redirects=False)
    assert done.status_code == 303, done.text
    return browser, csrf_of(browser.get("/").text)


@pytest.fixture
def world(pg_db: TestDatabase) -> Iterator[World]:
    db = pg_db
    api = make_harness(db)
    api.clock.to_day(20)
    episode = api.open()
    now = api.clock()
    with transaction(db.sessions) as s:
        for name, role in (("coord", "coordinator"), ("lead", "clinician"), ("boss", "admin"),
                           ("leaver", "coordinator"), ("mover", "clinician"),
                           ("target", "coordinator")):
            access.create_user(s, username=name, password=PASSWORD, role=role, now=now)
        sub = subscribe(s, "http://127.0.0.1:9/hook", now=now)
        dead = Delivery(delivery_key="dead-1", topic="reminder.raised", channel="webhook",
                        target=str(sub.id), payload={}, status="dead", attempts=8,
                        created_at=now)
        s.add(dead)
        revoked, revoked_raw = access.create_api_key(s, name="revoked-admin", role="admin",
                                                     now=now)
        s.flush()
        access.revoke_api_key(s, name=revoked.name, now=now)
        _expired, expired_raw = access.create_api_key(
            s, name="expired-admin", role="admin", now=now - dt.timedelta(days=2),
            expires_in_days=1)
        _old, rotated_out_raw = access.create_api_key(s, name="rotated-admin", role="admin",
                                                      now=now)
        access.rotate_api_key(s, name="rotated-admin", now=now)
        access.create_api_key(s, name="target-key", role="integration", now=now)
        access.revoke_api_key(s, name="rotated-admin", prefix=_old.prefix, now=now)
    app = api.client.app
    clients: list[TestClient] = []
    anonymous, anon_csrf = _browser(app, None, clients)
    creds = [Credential("no credentials", anonymous, csrf=anon_csrf),
             Credential("garbage bearer", anonymous, {"Authorization": "Bearer pw_nope"}),
             Credential("empty bearer", anonymous, {"Authorization": "Bearer "}),
             Credential("basic auth", anonymous, {"Authorization": "Basic Ym9zczpwdw=="}),
             Credential("revoked admin key", anonymous,
                        {"Authorization": f"Bearer {revoked_raw}"}),
             Credential("expired admin key", anonymous,
                        {"Authorization": f"Bearer {expired_raw}"}),
             Credential("admin key's old secret, rotated out", anonymous,
                        {"Authorization": f"Bearer {rotated_out_raw}"})]
    creds += [Credential(f"{role} key", anonymous, api.auth(role), key_role=role)
              for role in sorted(KEYS)]
    for username, role in (("coord", "coordinator"), ("lead", "clinician"), ("boss", "admin")):
        browser, token = _browser(app, username, clients)
        creds.append(Credential(f"{role} session", browser, session_role=role, csrf=token))
    boss_token = creds[-1].csrf
    coord_browser, _token = _browser(app, "coord", clients)
    creds.append(Credential("coordinator session, admin's CSRF token", coord_browser,
                            csrf=boss_token, session_role="coordinator", foreign_csrf=True))
    leaver, leaver_token = _browser(app, "leaver", clients)
    mover, mover_token = _browser(app, "mover", clients)
    with transaction(db.sessions) as s:  # after they logged in
        s.execute(update(User).where(User.username == "leaver").values(active=False))
        s.execute(update(User).where(User.username == "mover").values(role="integration"))
    creds += [Credential("deactivated user's session", leaver, csrf=leaver_token),
              Credential("session of a user demoted to integration", mover, csrf=mover_token)]
    forged, _ = _browser(app, None, clients)
    forged.cookies.set("pathway_session", _forged_cookie({"user": "boss", "csrf": "x"}))
    creds.append(Credential("forged session cookie", forged, csrf="x"))
    tampered, token = _browser(app, "coord", clients)
    value = tampered.cookies["pathway_session"]  # a random token: change one character
    tampered.cookies.set("pathway_session", value[:-1] + ("A" if value[-1] != "A" else "B"))
    creds.append(Credential("tampered session cookie", tampered, csrf=token))
    copied, token = _browser(app, "boss", clients)  # the admin logs out; a copy was kept
    kept = copied.cookies["pathway_session"]
    copied.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    copied.cookies.clear()
    copied.cookies.set("pathway_session", kept)
    creds.append(Credential("copied cookie of a logged-out admin", copied, csrf=token))
    ids = {"episode_id": episode["id"], "reminder_id": episode["reminders"][0]["id"],
           "subscription_id": sub.id, "delivery_id": dead.id, "seq": 1, "version": 1,
           "username": "target", "name": "target-key", "view_id": 999999}
    try:
        yield World(api, app, ids, creds, clients)
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def _concrete(world: World, path: str) -> str:
    if path == "/static":
        return "/static/css/dashboard.css"
    if path == "/docs/assets":
        return "/docs/assets/swagger-ui.css"
    return path.format(**world.ids)


def _fresh_subscription(world: World) -> int:
    with transaction(world.api.db.sessions) as s:
        return subscribe(s, "http://127.0.0.1:9/other", now=world.api.clock()).id


def _api_body(method: str, path: str) -> Any:
    until = (DAY0 + dt.timedelta(days=27)).isoformat()
    return {
        "/v1/episodes": intake(),
        "/v1/episodes/{episode_id}/events": {"event": "record_symptom_change",
                                             "data": {"text": "worse at night"}},
        "/v1/reminders/{reminder_id}/acknowledge": {"note": "seen"},
        "/v1/reminders/{reminder_id}/snooze": {"until": until, "reason": "waiting"},
        "/v1/reminders/{reminder_id}/assign": {"assignee": "sam"},
        "/v1/webhooks": {"url": "http://127.0.0.1:9/hook", "event_names": ["*"]},
    }.get(path) if method == "POST" else None


def _form(path: str) -> dict[str, str]:
    until = (DAY0 + dt.timedelta(days=27)).isoformat()
    return {
        "/episodes/{episode_id}/events": {"event": "record_symptom_change",
                                          "data.text": "worse at night"},
        "/reminders/{reminder_id}/acknowledge": {"note": "seen"},
        "/reminders/{reminder_id}/snooze": {"until": until, "reason": "waiting"},
        "/reminders/{reminder_id}/assign": {"assignee": "sam"},
        "/login": {"username": "coord", "password": "not the password"},
    }.get(path, {})


def _call(world: World, cred: Credential, method: str, path: str) -> Response:
    if (method, path) == ("DELETE", "/v1/webhooks/{subscription_id}"):
        world.ids["subscription_id"] = _fresh_subscription(world)
    url = _concrete(world, path)
    if path.startswith("/v1") or method == "GET" or method == "DELETE":
        return cred.client.request(method, url, json=_api_body(method, path),
                                   headers=cred.headers, follow_redirects=False)
    return cred.client.post(url, data={**_form(path), "csrf_token": cred.csrf},
                            headers=cred.headers, follow_redirects=False)


def _allowed(rule: Rule, cred: Credential, method: str) -> bool:
    if rule.via == "public":
        return True
    if rule.via == "key":
        return cred.key_role in rule.roles
    return cred.session_role in rule.roles and not (cred.foreign_csrf and method == "POST")


def _verdict(rule: Rule, cred: Credential, method: str, response: Response) -> str | None:
    """None if the answer is right for this credential, else what is wrong."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if rule.via == "public":
        return None
    if _allowed(rule, cred, method):
        if status in (401, 403) or response.headers.get("location", "").startswith("/login"):
            return f"refused with {status} {response.headers.get('location', '')}"
        return None
    if rule.via == "key":
        wanted = 403 if cred.key_role else 401
        if status != wanted:
            return f"{status}, expected {wanted}"
        if response.headers.get("content-type") != "application/problem+json":
            return "refusal is not a problem document"
        return None
    if status == 303 and response.headers["location"].startswith("/login"):
        return None  # no valid session: off to the login page
    if status == 403:
        return None  # a session whose role may not, or a foreign CSRF token
    return f"{status} (location {response.headers.get('location')})"


def test_every_route_has_a_policy() -> None:
    runtime = Runtime.from_settings(Settings(database_url="sqlite://"))  # never connects
    assert app_routes(create_app(runtime)) == set(POLICY)


def test_every_route_with_every_credential(world: World, ledger: Entry) -> None:
    wrong = []
    tried = 0
    # Logging out ends the session: last.
    for (method, path), rule in sorted(POLICY.items(), key=lambda i: (i[0][1] == "/logout", i[0])):
        for cred in world.credentials:
            response = _call(world, cred, method, path)
            tried += 1
            problem = _verdict(rule, cred, method, response)
            if problem:
                wrong.append(f"{method} {path} with {cred.name}: {problem}")
    assert wrong == [], "\n".join(wrong)
    ledger.tried(tried)
    ledger.check("routes", len(POLICY))
    ledger.check("credentials per route", len(world.credentials))


def _attempt(client: TestClient, username: str, password: str) -> Response:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def test_login_is_throttled_per_user_and_per_address(pg_db: TestDatabase,
                                                     ledger: Entry) -> None:
    api = make_harness(pg_db)
    with transaction(pg_db.sessions) as s:
        for name in ("coord", "other"):
            access.create_user(s, username=name, password=PASSWORD, role="coordinator",
                               now=api.clock())
    board: Dashboard = api.client.app.state.dashboard
    # The product's allowance per address is larger; a smaller one keeps the test short
    # (each refused attempt costs an argon2 verification).
    assert board.throttle_policy.per_pair < board.throttle_policy.per_address
    board.throttle_policy = ThrottlePolicy(per_address=ADDRESS_FAILURES)
    with TestClient(api.client.app) as client:
        assert [_attempt(client, "coord", "wrong").status_code for _ in range(5)] == [401] * 5
        locked = _attempt(client, "coord", PASSWORD)  # the right password waits too
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert _attempt(client, "Coord", PASSWORD).status_code == 429  # any letter case
        assert _attempt(client, "other", PASSWORD).status_code == 303  # others may log in
        client.cookies.clear()
        # Spraying one password over many user names from one address: 5 failures so far.
        left = ADDRESS_FAILURES - 5
        statuses = [_attempt(client, f"user{i}", "Winter2026!").status_code
                    for i in range(left + 1)]
        assert statuses == [401] * left + [429]
        sprayed = _attempt(client, "other", PASSWORD)
        assert sprayed.status_code == 429 and "Too many failed attempts" in sprayed.text
    ledger.tried(5 + 3 + left + 2)
    ledger.check("throttle decisions", 5 + 3 + left + 2)


ADDRESS_FAILURES = 8
PAGES = ["/", "/episodes/{episode_id}", "/episodes/new", "/reminders", "/kpis", "/pathway",
         "/admin", "/admin/access", "/login", "/worklist.csv"]


def _check_headers(path: str, response: Response) -> list[str]:
    wrong = []
    csp = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2]
                  for d in csp.split(";") if d.strip()}
    script = directives.get("script-src", directives.get("default-src", ""))
    if not script or any(bad in script for bad in ("unsafe-inline", "unsafe-eval", "*",
                                                   "data:", "http:", "https:")):
        wrong.append(f"{path}: script-src {script!r}")
    if directives.get("frame-ancestors") != "'none'" and \
            response.headers.get("x-frame-options") != "DENY":
        wrong.append(f"{path}: may be framed")
    if response.headers.get("cache-control") != "no-store":
        wrong.append(f"{path}: cache-control {response.headers.get('cache-control')}")
    if response.headers.get("x-content-type-options") != "nosniff":
        wrong.append(f"{path}: no nosniff")
    html = response.text
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" not in tag and 'type="application/json"' not in tag:
            wrong.append(f"{path}: inline script {tag}")
    if re.search(r"<[^>]+\son[a-z]+\s*=", html):
        wrong.append(f"{path}: inline event handler")
    if re.search(r"""(<script|<img|<link|<iframe)[^>]*(src|href)=["']?(https?:)?//""", html):
        wrong.append(f"{path}: loads from another origin")
    return wrong


def test_security_headers_on_every_dashboard_page(world: World, ledger: Entry) -> None:
    boss = next(c for c in world.credentials if c.name == "admin session")
    coord = next(c for c in world.credentials if c.name == "coordinator session")
    dashboard_gets = sorted(p for (m, p), r in POLICY.items() if m == "GET" and
                            r.via == "session")
    assert set(dashboard_gets) <= set(PAGES)  # a new page must be listed here
    responses = [(p, boss.client.get(_concrete(world, p))) for p in PAGES]
    responses += [
        ("episode 404", boss.client.get("/episodes/999999")),
        ("admin 403", coord.client.get("/admin")),
        ("form without token 403", boss.client.post(_concrete(world, "/episodes/{episode_id}"
                                                              "/events"), data={})),
        ("login 401", TestClient(world.app).post("/login", data={
            "username": "coord", "password": "wrong", "csrf_token": "x"})),
    ]
    wrong = []
    for path, response in responses:
        assert response.status_code in (200, 401, 403, 404), (path, response.status_code)
        wrong += _check_headers(path, response)
    assert wrong == [], "\n".join(wrong)
    ledger.tried(len(responses))
    ledger.check("pages with security headers", len(responses))
