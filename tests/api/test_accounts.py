"""The admin API for access: users, sessions, keys, and the access and administration logs,
tried as an integration engineer would from the docs: every change audited with its caller,
bad input refused naming the field, nothing changed by a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from pathway.store.models import AccessRecord, AdminRecord, User
from tests.api.support import ASSIGNABLE, ApiHarness
from tests.api.test_problems import assert_problem
from tests.dashboard.support import csrf_of

GOOD = "staple horse battery correct"


def _post(api: ApiHarness, path: str, body: dict[str, Any] | None = None) -> Any:
    return api.client.post(f"/v1/admin{path}", json=body or {}, headers=api.auth("admin"))


def _get(api: ApiHarness, path: str, **params: Any) -> Any:
    return api.client.get(f"/v1/admin{path}", params=params, headers=api.auth("admin"))


def _users(api: ApiHarness) -> int:
    with api.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_a_user_is_added_refused_for_a_weak_password_and_every_change_audited(
        api: ApiHarness) -> None:
    before = _users(api)
    for weak, why in (("short", "at least 12"), ("password1234", "too easy to guess"),
                      ("bea-bea-bea-bea", "too easy to guess")):
        body = assert_problem(_post(api, "/users", {"username": "bea", "password": weak,
                                                    "role": "coordinator"}), 422)
        assert body["field"] == "password" and why in body["detail"], body
    assert _users(api) == before  # nothing was added
    made = _post(api, "/users", {"username": "bea", "password": GOOD, "role": "coordinator",
                                 "display_name": "Bea Coordinator"})
    assert made.status_code == 201 and made.headers["Location"] == "/v1/admin/users/bea"
    assert "password" not in made.text and "hash" not in made.text
    assert_problem(_post(api, "/users", {"username": "bea", "password": GOOD,
                                         "role": "coordinator"}), 409)
    assert _post(api, "/users/bea/role", {"role": "clinician"}).json()["role"] == "clinician"
    assert _post(api, "/users/bea/deactivate").json()["active"] is False
    assert _post(api, "/users/bea/activate").json()["active"] is True
    assert _post(api, "/users/bea/password", {"password": GOOD + " again"}).status_code == 204
    assert_problem(_post(api, "/users/nobody/deactivate"), 404)
    assert_problem(_post(api, "/users/bea/role", {"role": "superuser"}), 422)
    listed = _get(api, "/users").json()["items"]
    assert [(u["username"], u["role"], u["active"]) for u in listed
            if u["username"] not in ASSIGNABLE] == [("bea", "clinician", True)]
    changes = _get(api, "/admin-log", target="bea").json()["items"]
    actor = api.actor("admin")
    assert [(c["action"], c["actor"]) for c in reversed(changes)] == [
        ("user.create", actor), ("user.role", actor), ("user.deactivate", actor),
        ("user.activate", actor), ("user.password", actor)]
    assert all(GOOD not in str(c["detail"]) for c in changes)


def test_keys_are_created_rotated_and_revoked_and_secrets_shown_once(api: ApiHarness) -> None:
    made = _post(api, "/api-keys", {"name": "ris", "role": "integration",
                                    "expires_in_days": 30})
    assert made.status_code == 201
    first = made.json()
    assert first["secret"].startswith(first["prefix"]) and first["expires_at"]
    assert_problem(_post(api, "/api-keys", {"name": "ris", "role": "integration"}), 409)
    assert_problem(_post(api, "/api-keys", {"name": "x", "role": "integration",
                                            "expires_in_days": -1}), 422)
    rotated = _post(api, "/api-keys/ris/rotate", {"expires_in_days": 0}).json()
    assert rotated["name"] == "ris" and rotated["expires_at"] is None
    for secret in (first["secret"], rotated["secret"]):
        ok = api.client.get("/v1/episodes", headers={"Authorization": f"Bearer {secret}"})
        assert ok.status_code == 200
    listed = _get(api, "/api-keys").json()["items"]
    assert all("secret" not in k for k in listed)
    assert first["secret"] not in _get(api, "/api-keys").text
    revoked = _post(api, "/api-keys/ris/revoke", {"prefix": first["prefix"]}).json()["items"]
    assert [k["prefix"] for k in revoked] == [first["prefix"]]
    old = api.client.get("/v1/episodes", headers={"Authorization": f"Bearer {first['secret']}"})
    assert old.status_code == 401
    assert_problem(_post(api, "/api-keys/ris/revoke", {"prefix": first["prefix"]}), 404)
    with api.db.sessions() as session:  # the log never holds a secret
        details = " ".join(str(r.detail) for r in session.scalars(select(AdminRecord)))
        assert first["secret"] not in details and rotated["secret"] not in details


def test_an_admin_sees_and_ends_a_users_dashboard_sessions(api: ApiHarness) -> None:
    assert _post(api, "/users", {"username": "cal", "password": GOOD,
                                 "role": "coordinator"}).status_code == 201
    browser = TestClient(api.client.app)
    page = browser.get("/login")
    assert browser.post("/login", data={"username": "cal", "password": GOOD,
                                        "csrf_token": csrf_of(page.text)},
                        follow_redirects=False).status_code == 303
    going = _get(api, "/sessions", username="cal").json()["items"]
    assert [s["username"] for s in going] == ["cal"]
    assert browser.cookies["pathway_session"] not in _get(api, "/sessions").text
    assert api.client.delete("/v1/admin/users/cal/sessions",
                             headers=api.auth("admin")).json() == {"ended": 1}
    assert browser.get("/", follow_redirects=False).status_code == 303
    assert _get(api, "/sessions", username="cal").json()["items"] == []


def test_reads_of_a_patient_are_in_the_access_log(api: ApiHarness) -> None:
    episode = api.open(patient={"mrn": "AUD0001"})
    other = api.open(patient={"mrn": "AUD0002"})
    reader = api.auth("coordinator")
    for path in ("", "/events", "/events/1", "/fhir"):
        assert api.client.get(f"/v1/episodes/{episode['id']}{path}",
                              headers=reader).status_code == 200
    assert api.client.get(f"/v1/episodes/{other['id']}", headers=reader).status_code == 200
    assert api.client.get("/v1/episodes", params={"state": "assessed"},
                          headers=reader).status_code == 200
    entries = _get(api, "/access-log", mrn="AUD0001").json()["items"]
    assert [(e["what"], e["actor"], e["mrn"], e["episode_id"]) for e in reversed(entries)] == [
        (what, api.actor("coordinator"), "AUD0001", episode["id"])
        for what in ("episode", "events", "event", "fhir")]
    assert all(e["client_address"] == "testclient" for e in entries)
    by_reader = _get(api, "/access-log", actor=api.actor("coordinator")).json()["items"]
    assert by_reader[0]["what"] == "episode_list"
    assert by_reader[0]["detail"]["filter"] == {"state": "assessed"}
    assert sorted(by_reader[0]["detail"]["episodes"]) == sorted([episode["id"], other["id"]])
    assert len(by_reader) == 6
    assert_problem(_get(api, "/access-log", mrn="NOPE"), 404)
    paged = _get(api, "/access-log", actor=api.actor("coordinator"), limit=4).json()
    older = _get(api, "/access-log", actor=api.actor("coordinator"),
                 before=paged["next_before"]).json()["items"]
    assert [e["id"] for e in paged["items"] + older] == [e["id"] for e in by_reader]


def test_the_access_and_admin_logs_refuse_update_and_delete(api: ApiHarness) -> None:
    api.open()
    assert _post(api, "/users", {"username": "dee", "password": GOOD,
                                 "role": "coordinator"}).status_code == 201
    api.client.get("/v1/episodes/1", headers=api.auth("coordinator"))
    for table in ("access_log", "admin_log"):
        for statement in (f"UPDATE {table} SET actor = 'someone else'", f"DELETE FROM {table}"):
            with api.db.engine.connect() as conn, pytest.raises(DatabaseError):
                conn.execute(text(statement))
    with api.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessRecord)) == 1
