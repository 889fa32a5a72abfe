"""Who may do what: the one table of rights that the integration API and the dashboard enforce.

| action            | integration | coordinator | clinician | admin |
|-------------------|:-----------:|:-----------:|:---------:|:-----:|
| `read`            | yes         | yes         | yes       | yes   |
| `read_reminders`  |             | yes         | yes       | yes   |
| `read_kpis`       |             | yes         | yes       | yes   |
| `open_episode`    | yes         |             |           | yes   |
| `record_event`    | yes         |             | yes       | yes   |
| `act_on_reminder` |             | yes         | yes       | yes   |
| `assign_reminder` |             | yes         |           | yes   |
| `retry_delivery`  |             |             |           | yes   |
| `manage_webhooks` |             |             |           | yes   |
| `manage_access`   |             |             |           | yes   |
| `use_dashboard`   |             | yes         | yes       | yes   |

`read` covers episodes, their events, FHIR, the pathway definition, readiness and metrics.
`act_on_reminder` is acknowledge and snooze; `assign_reminder` is the coordinator's (the
issue's "coordinator: reminders, assignment, read"). `retry_delivery` covers the outbox (list
deliveries, send a dead letter again). An admin may do everything; an unknown role nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pathway.vocabulary import Role


class Action(StrEnum):
    """Something a caller asks to do, checked against their role with `may`."""

    READ = "read"
    READ_REMINDERS = "read_reminders"
    READ_KPIS = "read_kpis"
    OPEN_EPISODE = "open_episode"
    RECORD_EVENT = "record_event"
    ACT_ON_REMINDER = "act_on_reminder"
    ASSIGN_REMINDER = "assign_reminder"
    RETRY_DELIVERY = "retry_delivery"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_ACCESS = "manage_access"
    USE_DASHBOARD = "use_dashboard"


_STAFF = frozenset({Role.COORDINATOR, Role.CLINICIAN})

#: The roles besides admin that may do each action (admin may do everything).
_GRANTS: dict[Action, frozenset[Role]] = {
    Action.READ: frozenset({Role.INTEGRATION}) | _STAFF,
    Action.READ_REMINDERS: _STAFF,
    Action.READ_KPIS: _STAFF,
    Action.OPEN_EPISODE: frozenset({Role.INTEGRATION}),
    Action.RECORD_EVENT: frozenset({Role.INTEGRATION, Role.CLINICIAN}),
    Action.ACT_ON_REMINDER: _STAFF,
    Action.ASSIGN_REMINDER: frozenset({Role.COORDINATOR}),
    Action.RETRY_DELIVERY: frozenset(),
    Action.MANAGE_WEBHOOKS: frozenset(),
    Action.MANAGE_ACCESS: frozenset(),
    Action.USE_DASHBOARD: _STAFF,
}


def may(role: str, action: Action) -> bool:
    """Whether a caller with `role` may do `action`."""
    return role == Role.ADMIN.value or role in _GRANTS[action]


def roles_allowed(action: Action) -> tuple[str, ...]:
    """The roles that may do `action`, sorted (for messages and documentation)."""
    return tuple(sorted(r.value for r in Role if may(r.value, action)))
