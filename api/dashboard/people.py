"""Who did something, as people read it: a user by their name, an integration by its key's
name, the scheduler and the command line by what they are (the log keeps `user:demo`,
`key:epr`, `system:scheduler`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from pathway.access import list_users
from pathway.permissions import Action, may

SYSTEM_NAMES = {"system:scheduler": "Scheduler (automatic)", "cli": "Command line",
                "system": "Pathway (automatic)"}


def actor(value: str | None, people: Mapping[str, str] | None = None) -> str:
    """An actor as people read it; `people` maps user names to display names."""
    if not value:
        return "—"
    if value in SYSTEM_NAMES:
        return SYSTEM_NAMES[value]
    kind, _, name = value.partition(":")
    if kind == "user" and name:
        return (people or {}).get(name, name)
    if kind == "key" and name:
        return f"{name} (integration)"
    return (people or {}).get(value, value)


def people_context(db: Session) -> dict[str, Any]:
    """What pages that name people need: who may be assigned a reminder (`staff`, active
    users whose role may act on reminders) and every active user's name (`people`)."""
    users = [u for u in list_users(db) if u.active]
    return {"staff": [u for u in users if may(u.role, Action.ACT_ON_REMINDER)],
            "people": {u.username: u.display_name or u.username for u in users}}


FILTERS = {"actor": actor}
