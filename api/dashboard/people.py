"""Who did something, as people read it: a user by their name, an integration by its key's
name, the scheduler and the command line by what they are (the log keeps `user:demo`,
`key:epr`, `system:scheduler`)."""

from __future__ import annotations

from collections.abc import Mapping

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


FILTERS = {"actor": actor}
