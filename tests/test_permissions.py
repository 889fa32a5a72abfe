"""`pathway.permissions.may` against the roles of the integration issue, written out here."""

from __future__ import annotations

import pytest

from pathway.permissions import Action, may, roles_allowed
from pathway.vocabulary import Role

IN, CO, CL, AD = "integration", "coordinator", "clinician", "admin"
EVERYONE = {IN, CO, CL, AD}
STAFF = {CO, CL, AD}

EXPECTED: dict[Action, set[str]] = {
    Action.READ: EVERYONE,
    Action.READ_REMINDERS: STAFF,
    Action.READ_KPIS: STAFF,
    Action.OPEN_EPISODE: EVERYONE,
    Action.RECORD_EVENT: {IN, CL, AD},
    Action.RECORD_LIAISON: EVERYONE,
    Action.ACT_ON_REMINDER: STAFF,
    Action.ASSIGN_REMINDER: {CO, AD},
    Action.RETRY_DELIVERY: {AD},
    Action.MANAGE_WEBHOOKS: {AD},
    Action.MANAGE_ACCESS: {AD},
    Action.USE_DASHBOARD: STAFF,
}


def test_the_table_covers_every_action_and_role() -> None:
    assert set(EXPECTED) == set(Action)
    assert {r.value for r in Role} == EVERYONE


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_may(action: Action) -> None:
    granted = {role for role in EVERYONE if may(role, action)}
    assert granted == EXPECTED[action]
    assert roles_allowed(action) == tuple(sorted(EXPECTED[action]))


@pytest.mark.parametrize("role", ["", "Admin", "ADMIN", "root", "admin ", "key:admin"])
def test_an_unknown_role_may_do_nothing(role: str) -> None:
    assert not any(may(role, action) for action in Action)


def test_coordinators_record_the_liaison_work_and_clinicians_everything() -> None:
    from pathway.permissions import LIAISON_EVENTS, may_record
    from pathway.vocabulary import ALL_EVENT_NAMES

    for event in ALL_EVENT_NAMES:
        assert may_record(CL, event) and may_record(IN, event) and may_record(AD, event)
        assert may_record(CO, event) == (event in LIAISON_EVENTS), event
    for event in ("record_contact", "record_therapy", "decline_therapy", "record_dxa",
                  "record_fls_assessment", "recommend_therapy"):
        assert may_record(CO, event), event
    for event in ("start_conservative_care", "record_reassessment", "refer_surgery", "close",
                  "record_neuro_change"):
        assert not may_record(CO, event), event
