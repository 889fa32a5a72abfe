"""Who may do what: the one table of rights that the integration API and the dashboard enforce.

| action            | integration | coordinator | clinician | admin |
|-------------------|:-----------:|:-----------:|:---------:|:-----:|
| `read`            | yes         | yes         | yes       | yes   |
| `read_reminders`  |             | yes         | yes       | yes   |
| `read_kpis`       |             | yes         | yes       | yes   |
| `open_episode`    | yes         | yes         | yes       | yes   |
| `record_event`    | yes         |             | yes       | yes   |
| `record_liaison`  | yes         | yes         | yes       | yes   |
| `act_on_reminder` |             | yes         | yes       | yes   |
| `assign_reminder` |             | yes         |           | yes   |
| `retry_delivery`  |             |             |           | yes   |
| `manage_webhooks` |             |             |           | yes   |
| `manage_access`   |             |             |           | yes   |
| `use_dashboard`   |             | yes         | yes       | yes   |

`record_event` is any event or fact: the fracture-care transitions (start conservative care,
reassessment, imaging, referrals, resolve, close) and the clinical findings (neurological and
symptom changes) are the clinician's. `record_liaison` is the fracture liaison and bone-health
work a coordinator does (`LIAISON_EVENTS`: contacts, therapy started, declined or recommended,
the FLS assessment, DXA, falls, strength and balance, communications); `may_record` says which
of the two an event needs. `open_episode` is the intake (the API and the dashboard's form).
`read` covers episodes, their events, FHIR, the pathway definition, readiness and metrics.
`act_on_reminder` is acknowledge and snooze; `assign_reminder` is the coordinator's (the
issue's "coordinator: reminders, assignment, read"). `retry_delivery` covers the outbox (list
deliveries, send a dead letter again). An admin may do everything; an unknown role nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pathway.vocabulary import Fact, Role


class Action(StrEnum):
    """Something a caller asks to do, checked against their role with `may`."""

    READ = "read"
    READ_REMINDERS = "read_reminders"
    READ_KPIS = "read_kpis"
    OPEN_EPISODE = "open_episode"
    RECORD_EVENT = "record_event"
    RECORD_LIAISON = "record_liaison"
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
    Action.OPEN_EPISODE: frozenset({Role.INTEGRATION}) | _STAFF,
    Action.RECORD_EVENT: frozenset({Role.INTEGRATION, Role.CLINICIAN}),
    Action.RECORD_LIAISON: frozenset({Role.INTEGRATION}) | _STAFF,
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


#: The facts a coordinator records (`record_liaison`): the liaison and bone-health work.
LIAISON_EVENTS: frozenset[str] = frozenset(f.value for f in Fact) - {
    Fact.RECORD_NEURO_CHANGE.value, Fact.RECORD_SYMPTOM_CHANGE.value}


def action_for_event(event: str) -> Action:
    """What recording `event` needs: `record_liaison` for the liaison work, else
    `record_event`."""
    return Action.RECORD_LIAISON if event in LIAISON_EVENTS else Action.RECORD_EVENT


def may_record(role: str, event: str) -> bool:
    """Whether a caller with `role` may record `event` (an event or fact name)."""
    return may(role, action_for_event(event))


def roles_allowed(action: Action) -> tuple[str, ...]:
    """The roles that may do `action`, sorted (for messages and documentation)."""
    return tuple(sorted(r.value for r in Role if may(r.value, action)))
