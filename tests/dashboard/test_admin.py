"""The administration pages: users and keys managed from the dashboard with the API's rules,
each change in the administration log; a new key's secret shown once and never kept; the
access log answers "who looked at this patient?"."""

from __future__ import annotations

from sqlalchemy import select

from pathway.store.db import transaction
from pathway.store.models import AdminRecord, ApiKey, User, WebSession
from tests.builders import open_at
from tests.dashboard.conftest import Board
from tests.dashboard.support import login, post_form

GOOD = "staple horse battery correct"


def _user(board: Board, username: str) -> User | None:
    with board.db.sessions() as session:
        return session.scalar(select(User).where(User.username == username))


def test_users_are_added_changed_and_deactivated_from_the_admin_page(board: Board) -> None:
    login(board.client, "boss")
    weak = post_form(board.client, "/admin", "/admin/users", {
        "username": "dana", "password": "password1234", "role": "coordinator"})
    assert weak.status_code == 422 and "too easy to guess" in weak.text
    assert _user(board, "dana") is None
    added = post_form(board.client, "/admin", "/admin/users", {
        "username": "dana", "password": GOOD, "role": "coordinator",
        "display_name": "Dana Liaison"})
    assert added.status_code == 303
    assert "User dana added." in board.client.get("/admin").text
    assert post_form(board.client, "/admin", "/admin/users/dana/role",
                     {"role": "clinician"}).status_code == 303
    assert post_form(board.client, "/admin", "/admin/users/dana/active",
                     {"active": "0"}).status_code == 303
    user = _user(board, "dana")
    assert user is not None and (user.role, user.active) == ("clinician", False)
    refused = post_form(board.client, "/admin", "/admin/users/boss/active", {"active": "0"})
    assert refused.status_code == 422 and "cannot deactivate yourself" in refused.text
    with board.db.sessions() as session:
        actions = [(r.actor, r.action, r.target) for r in session.scalars(
            select(AdminRecord).order_by(AdminRecord.id))]
    assert actions == [("user:boss", "user.create", "dana"), ("user:boss", "user.role", "dana"),
                       ("user:boss", "user.deactivate", "dana")]
    page = board.client.get("/admin").text
    assert "user create" in page and "user deactivate" in page  # the latest changes


def test_a_new_keys_secret_is_shown_once_and_never_stored(board: Board) -> None:
    login(board.client, "boss")
    made = post_form(board.client, "/admin", "/admin/api-keys", {
        "name": "lab-feed", "role": "integration", "expires_in_days": "90"})
    assert made.status_code == 200 and "shown only on this page" in made.text
    secret = made.text.split('id="new-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("pw_")
    assert secret not in board.client.get("/admin").text
    with board.db.sessions() as session:
        stored = " ".join(str(s.data) for s in session.scalars(select(WebSession)))
        assert secret not in stored
        key = session.scalars(select(ApiKey).where(ApiKey.name == "lab-feed")).one()
        assert key.key_hash != secret and key.expires_at is not None
    ok = board.client.get("/v1/episodes", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    bad_days = post_form(board.client, "/admin", "/admin/api-keys/lab-feed/rotate",
                         {"expires_in_days": "soon"})
    assert bad_days.status_code == 422 and "expires_in_days" in bad_days.text
    revoked = post_form(board.client, "/admin", "/admin/api-keys/lab-feed/revoke",
                        {"prefix": key.prefix})
    assert revoked.status_code == 303
    gone = board.client.get("/v1/episodes", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401


def test_the_access_log_page_finds_who_opened_a_patients_episode(board: Board) -> None:
    with transaction(board.db.sessions) as session:
        episode = open_at(session, day=20, patient={"mrn": "LOOK001", "name": "Lee Look"})
    login(board.client, "coord")
    assert board.client.get(f"/episodes/{episode.id}").status_code == 200
    assert board.client.get("/").status_code == 200
    assert board.client.get("/admin/access", follow_redirects=False).status_code == 403
    login(board.client, "boss")
    page = board.client.get("/admin/access", params={"mrn": "LOOK001"})
    assert page.status_code == 200
    rows = page.text.split('id="access-log"', 1)[1]
    assert rows.count("<tr>") == 2  # the header and the one read by the coordinator
    assert "user:coord" in rows and "episode page" in rows and "LOOK001" in rows
    by_user = board.client.get("/admin/access", params={"actor": "user:coord"}).text
    assert "worklist" in by_user and "episode page" in by_user
    missing = board.client.get("/admin/access", params={"mrn": "NOPE"})
    assert missing.status_code == 404 and "No patient has MRN NOPE" in missing.text
