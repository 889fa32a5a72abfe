"""Webhook subscription use cases: validation, secrets, deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from pathway.errors import InvalidData, NotFound
from pathway.webhooks import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    new_secret,
    secret_bytes,
)
from tests.builders import at


def test_create_list_delete(session: Session) -> None:
    sub = create_subscription(session, url="https://example.org/hook",
                              reminder_kinds=["plan_overdue", "plan_overdue"],
                              event_names=["close"], actor="admin", now=at(0))
    assert sub.reminder_kinds == ["plan_overdue"] and sub.active
    assert len(secret_bytes(sub.secret)) == 32 and new_secret() != sub.secret
    assert [s.id for s in list_subscriptions(session)] == [sub.id]
    delete_subscription(session, subscription_id=sub.id, actor="admin", now=at(1))
    assert list_subscriptions(session) == []
    assert [s.id for s in list_subscriptions(session, include_inactive=True)] == [sub.id]
    with pytest.raises(NotFound):
        get_subscription(session, sub.id)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "https://"}, "url"),
    ({"event_names": []}, "reminder_kinds"),
    ({"event_names": ["open_episode", "nope"]}, "event_names"),
    ({"secret": "whsec_" + "QUJD"}, "secret"),  # 3 bytes
])
def test_refusals(session: Session, kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"url": "https://example.org/hook", "reminder_kinds": [],
                               "event_names": ["*"], "actor": "admin", "now": at(0)}
    with pytest.raises(InvalidData) as refused:
        create_subscription(session, **{**args, **kwargs})  # type: ignore[arg-type]
    assert refused.value.field == field
