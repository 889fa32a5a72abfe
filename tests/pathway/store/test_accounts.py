"""Users, API keys, webhook subscriptions and idempotency records as the store finds them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pathway import access, webhooks
from pathway.store import api_keys, idempotency, subscriptions, users
from pathway.store.models import IdempotencyRecord
from tests.builders import at


def test_users_by_name(session: Session) -> None:
    bea = access.create_user(session, username="bea", password="a long password 1",
                             role="coordinator", now=at(0))
    access.create_user(session, username="ada", password="a long password 1", role="admin",
                       now=at(0))
    bea.active = False
    session.flush()
    assert users.active_user(session, "bea") is None
    assert users.user_named(session, "bea") is bea and users.user_exists(session, "bea")
    assert users.user_named(session, "cid") is None and not users.user_exists(session, "cid")
    assert [u.username for u in users.all_users(session)] == ["ada", "bea"]


def test_a_revoked_key_is_not_live(session: Session) -> None:
    key, raw = access.create_api_key(session, name="lab", role="integration", now=at(0))
    live = api_keys.live_key(session, access.hash_key(raw), at(0))
    assert live is not None and (live.id, live.name, live.revoked_at) == (key.id, "lab", None)
    access.revoke_api_key(session, name="lab", now=at(1))
    assert api_keys.live_key(session, access.hash_key(raw), at(1)) is None
    assert api_keys.key_by_id(session, key.id) is key and api_keys.key_name_taken(session, "lab")
    assert api_keys.live_named(session, "lab") == [] and not api_keys.key_name_taken(session, "x")
    assert [k.name for k in api_keys.all_keys(session)] == ["lab"]


def test_subscriptions_active_or_not(session: Session) -> None:
    first, second = (webhooks.create_subscription(
        session, url=f"https://example.org/{n}", reminder_kinds=[], event_names=["*"],
        actor="admin", now=at(0)) for n in (1, 2))
    webhooks.delete_subscription(session, subscription_id=first.id, actor="admin", now=at(1))
    assert subscriptions.subscriptions(session, include_inactive=False) == [second]
    assert subscriptions.subscriptions(session, include_inactive=True) == [first, second]
    assert subscriptions.subscription(session, first.id) is first
    for no_row in (0, -1, subscriptions.MAX_ID + 1, 2**63):
        assert subscriptions.subscription(session, no_row) is None


def test_key_record_per_caller(session: Session) -> None:
    record = IdempotencyRecord(actor="lab", key="k1", method="POST", path="/v1/episodes",
                               body_hash="0" * 64, status_code=0, response_headers={},
                               response_body="", created_at=at(0))
    session.add(record)
    session.commit()
    session.expunge_all()
    found = idempotency.key_record(session, actor="lab", key="k1")
    assert found is not None and (found.path, found.status_code) == ("/v1/episodes", 0)
    assert idempotency.key_record(session, actor="other", key="k1") is None
