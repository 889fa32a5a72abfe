"""An API harness: the real app on a test database, a movable clock, one API key per role."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from pathway import access
from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.db import transaction
from pathway.store.models import User
from pathway.vocabulary import Role
from tests.builders import DAY0, at, intake
from tests.support.databases import TestDatabase

MAX_BODY = 64 * 1024
_keys = itertools.count(1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def to_day(self, day: int, hour: int = 9) -> None:
        """Move to `hour` on day `day` after DAY0."""
        self.now = at(day, hour)


@dataclass
class ApiHarness:
    """The app under test, its runtime and clock, and a bearer header per role."""

    db: TestDatabase
    runtime: Runtime
    clock: Clock
    client: TestClient
    keys: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str = "admin") -> dict[str, str]:
        """The Authorization header of the key with `role`."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def actor(self, role: str) -> str:
        """How the key with `role` is recorded as an actor."""
        return f"key:{self.names[role]}"

    def open(self, role: str = "integration", **overrides: Any) -> dict[str, Any]:
        """Open an episode through the API; returns the episode body."""
        response = self.client.post("/v1/episodes", json=intake(**overrides),
                                    headers=self.auth(role))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def send(self, episode_id: int, event: str, day: int | None = None, *,
             role: str = "integration", headers: dict[str, str] | None = None,
             **data: Any) -> Response:
        """Send an event that occurred on `day` (default: today by the clock)."""
        payload: dict[str, Any] = {"event": event, "data": data}
        if day is not None:
            payload["occurred_on"] = (DAY0 + dt.timedelta(days=day)).isoformat()
        return self.client.post(f"/v1/episodes/{episode_id}/events", json=payload,
                                headers={**self.auth(role), **(headers or {})})

    def walk(self, episode_id: int, steps: list[tuple[int, str, dict[str, Any]]]) -> Response:
        """Send each (day, event, data) with the clock on that day; each must succeed."""
        response = None
        for day, event, data in steps:
            self.clock.to_day(day)
            response = self.send(episode_id, event, day, **data)
            assert response.status_code == 201, (event, response.text)
        assert response is not None
        return response


#: Users the tests assign reminders to (no password: they never log in).
ASSIGNABLE = {"sam": "coordinator", "alex": "coordinator"}


def make_harness(db: TestDatabase, **settings: Any) -> ApiHarness:
    """Build the app on `db` with the clock at DAY0 09:00 and a key for every role."""
    clock = Clock(at(0))
    config = Settings(database_url=db.url, max_body_bytes=MAX_BODY, **settings)
    runtime = Runtime(settings=config, engine=db.engine, sessions=db.sessions, clock=clock)
    keys, names = {}, {}
    with transaction(db.sessions) as session:
        for role in Role:
            # Tests move the clock by years: these keys never expire (test_auth's do).
            key, raw = access.create_api_key(session, name=f"{role.value}-{next(_keys)}",
                                             role=role.value, now=clock(), expires_in_days=0)
            keys[role.value], names[role.value] = raw, key.name
        # People reminders may be assigned to (assignment takes active users only).
        session.add_all(User(username=name, password_hash="!", role=role, active=True,
                             created_at=clock()) for name, role in ASSIGNABLE.items())
    client = TestClient(create_app(runtime))
    return ApiHarness(db=db, runtime=runtime, clock=clock, client=client, keys=keys,
                      names=names)
