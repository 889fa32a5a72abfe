"""pathway versions: the definition becomes the one table of the rules

A milestone's `applies_while` was prose that nothing read, and `plan_decision_rearm_days` was
read nowhere. The rules now read structured fields instead: the state a fracture-care
milestone watches and the events that meet it, the triggers that open, meet, void or decline
a bone-health milestone, the re-arm of the augmentation review, and for reminders the facts
that raise them at once and the events that resolve them. This migration rewrites every
stored definition (version 1 and any added since) into that shape, and back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRANSITIONS = ["start_conservative_care", "suspect_malignancy", "exclude_malignancy",
                "confirm_malignancy", "record_reassessment", "record_imaging",
                "review_augmentation", "refer_early_augmentation", "refer_surgery", "resolve"]

#: What version 1's code did, per milestone kind, as the new fields.
MILESTONE_FIELDS: dict[str, dict[str, Any]] = {
    "plan_decision": {"anchor": "event", "watches": "assessed", "met_by": _TRANSITIONS},
    "reassessment": {"watches": "conservative_care", "met_by": ["record_reassessment"]},
    "followup_imaging": {"watches": "reassessed", "met_by": ["record_imaging"]},
    "augmentation_review": {"watches": "imaged", "met_by": ["review_augmentation"]},
    "osteoporosis_therapy": {"opened_by": ["open_episode"],
                             "met_by": ["record_therapy:osteoporosis_agent"],
                             "declined_by": ["decline_therapy"]},
    "calcium_vitamin_d": {"opened_by": ["open_episode"],
                          "met_by": ["record_therapy:calcium_vitamin_d"]},
    "calcitonin_course_end": {"opened_by": ["record_therapy:calcitonin"],
                              "reopen": "when_none_open", "ends_when_raised": True},
    "denosumab_next_dose": {"opened_by": ["record_therapy:denosumab"], "reopen": "always",
                            "met_by": ["record_therapy:denosumab"],
                            "voided_by": ["record_therapy:osteoporosis_agent"]},
    "liaison_monitoring": {"opened_by": ["open_episode"],
                           "met_by": ["record_contact:liaison_monitoring"]},
    "adherence_review": {"opened_by": ["record_therapy:osteoporosis_agent"],
                         "met_by": ["record_contact:adherence_review"]},
}
REMINDER_FIELDS: dict[str, dict[str, Any]] = {
    "urgent_surgical_review": {"raised_by": ["record_neuro_change"],
                               "not_in_states": ["surgical_referral"],
                               "resolved_by": ["enter:surgical_referral"]},
    "repeat_mri_needed": {"raised_by": ["record_symptom_change"], "needs_stale_imaging": True,
                          "resolved_by": ["record_imaging"]},
}
#: Version 1's prose, restored on downgrade.
APPLIES_WHILE = {
    "plan_decision": "assessed", "reassessment": "conservative_care",
    "followup_imaging": "reassessed", "augmentation_review": "imaged",
    "osteoporosis_therapy": "any state until recorded, declined or contraindicated",
    "calcium_vitamin_d": "any state until recorded",
    "calcitonin_course_end": "a calcitonin course is recorded",
    "denosumab_next_dose": "denosumab is the current agent",
    "liaison_monitoring": "any state, also after resolved, until closed",
    "adherence_review": "therapy started",
}
_NEW_MILESTONE_KEYS = ("watches", "rearm_days", "opened_by", "reopen", "met_by", "voided_by",
                       "declined_by", "ends_when_raised")
_NEW_REMINDER_KEYS = ("raised_by", "not_in_states", "needs_stale_imaging", "resolved_by")


def to_rule_table(old: dict[str, Any]) -> dict[str, Any]:
    """A stored definition of the old shape in the new one (the same behaviour). One
    already in the new shape is kept: migration 0001 stores the packaged `v1.json`, which is
    in the new shape since this revision."""
    new = json.loads(json.dumps(old))
    if "augmentation_review_rearm_days" not in new:
        return new
    rearm = new.pop("augmentation_review_rearm_days")
    new.pop("plan_decision_rearm_days", None)
    for kind, rule in new["milestones"].items():
        rule.pop("applies_while", None)
        rule.update(MILESTONE_FIELDS[kind])
    new["milestones"]["augmentation_review"]["rearm_days"] = rearm
    for kind, fields in REMINDER_FIELDS.items():
        new["reminders"][kind].update(fields)
    return new


def to_old_shape(new: dict[str, Any]) -> dict[str, Any]:
    """A stored definition of the new shape in the old one."""
    old = json.loads(json.dumps(new))
    if "augmentation_review_rearm_days" in old:
        return old
    milestones = old["milestones"]
    old["augmentation_review_rearm_days"] = milestones["augmentation_review"].get(
        "rearm_days") or 28
    old["plan_decision_rearm_days"] = milestones["plan_decision"]["overdue_days"]
    for kind, rule in milestones.items():
        for key in _NEW_MILESTONE_KEYS:
            rule.pop(key, None)
        if rule["anchor"] == "event":
            rule["anchor"] = "day0"
        rule["applies_while"] = APPLIES_WHILE[kind]
    for rule in old["reminders"].values():
        for key in _NEW_REMINDER_KEYS:
            rule.pop(key, None)
    return old


_VERSIONS = sa.table("pathway_versions", sa.column("version", sa.Integer),
                     sa.column("definition", sa.JSON))


def _rewrite(convert: Any) -> None:
    bind = op.get_bind()
    for version, definition in bind.execute(sa.select(_VERSIONS.c.version,
                                                      _VERSIONS.c.definition)).all():
        data = definition if isinstance(definition, dict) else json.loads(definition)
        bind.execute(_VERSIONS.update().where(_VERSIONS.c.version == version)
                     .values(definition=convert(data)))


def upgrade() -> None:
    _rewrite(to_rule_table)


def downgrade() -> None:
    _rewrite(to_old_shape)
