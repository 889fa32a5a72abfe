"""The one table of human labels (`pathway.labels`): every code name people can meet has an
entry of its own, labels are distinct within their enum and read as words."""

from __future__ import annotations

import inspect
import json
from enum import StrEnum
from importlib import resources

import pytest

from pathway import labels, vocabulary
from pathway.event_data import DATA_SCHEMAS
from pathway.labels import (
    BY_ENUM,
    action_phrase,
    condition,
    in_sentence,
    known,
    label,
    transition_phrase,
    trigger,
)
from pathway.rules.guards import GUARDS
from pathway.vocabulary import OPENED_EVENT, Fact, TransitionEvent

#: Every StrEnum that pathway/vocabulary.py defines.
ENUMS: list[type[StrEnum]] = [
    value for _name, value in inspect.getmembers(vocabulary, inspect.isclass)
    if issubclass(value, StrEnum) and value.__module__ == vocabulary.__name__
]


def _definitions() -> list[dict[str, object]]:
    folder = resources.files("pathway.definitions")
    return [json.loads(f.read_text()) for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".json")]


def test_the_table_covers_every_enum_of_the_vocabulary() -> None:
    assert len(ENUMS) >= 30
    assert set(BY_ENUM) == set(ENUMS)
    for enum in ENUMS:
        assert set(BY_ENUM[enum]) == {m.value for m in enum}, enum.__name__


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_value_has_its_own_distinct_label_in_words(enum: type[StrEnum]) -> None:
    texts = [label(member.value) for member in enum]
    for member, text in zip(enum, texts, strict=True):
        assert known(member.value), member
        assert text and text == text.strip(), member
        assert "_" not in text, (member, text)
        assert text[0].isupper(), (member, text)  # sentence case, like the rest of the page
    assert len(set(texts)) == len(texts), f"{enum.__name__}: {sorted(texts)}"


def test_every_milestone_and_reminder_of_every_definition_is_labelled() -> None:
    definitions = _definitions()
    assert len(definitions) >= 2
    for definition in definitions:
        milestones = definition["milestones"]
        reminders = definition["reminders"]
        assert isinstance(milestones, dict) and isinstance(reminders, dict)
        for kind in [*milestones, *reminders]:
            assert known(kind), (definition["version"], kind)
            assert "_" not in label(kind)
        for rule in milestones.values():
            for reminder in (rule["overdue_reminder"], rule.get("heads_up_reminder")):
                assert reminder is None or known(reminder), reminder


def test_every_trigger_of_every_definition_reads_as_words() -> None:
    for definition in _definitions():
        milestones = definition["milestones"]
        reminders = definition["reminders"]
        assert isinstance(milestones, dict) and isinstance(reminders, dict)
        rules = [*milestones.values(), *reminders.values()]
        triggers = {t for rule in rules for key in ("opened_by", "met_by", "voided_by",
                                                    "declined_by", "raised_by", "resolved_by")
                    for t in rule.get(key, [])}
        assert triggers
        for value in triggers:
            assert "_" not in trigger(value), value


def test_event_data_fields_and_guards_are_in_the_table() -> None:
    fields = {name for schema in DATA_SCHEMAS.values() for name in schema.model_fields}
    assert fields and all(known(name) for name in fields), sorted(f for f in fields
                                                                if not known(f))
    assert known(OPENED_EVENT)
    assert set(labels.CONDITIONS) == set(GUARDS)
    for guard in GUARDS:
        for name in (guard, f"!{guard}"):
            assert "_" not in condition(name), name


def test_every_event_has_a_button() -> None:
    for event in [*TransitionEvent, *Fact]:
        assert event in labels.ACTIONS, event
        assert "_" not in action_phrase(event)
    assert action_phrase("record_reassessment") == "Record reassessment"
    assert action_phrase("start_conservative_care") == "Start conservative care"


def test_labels_named_in_the_brief() -> None:
    assert label("record_reassessment") == "Reassessment"
    assert label("start_conservative_care") == "Start conservative care"
    assert label("reassessment_overdue") == "Reassessment overdue"
    assert label("conservative_care") == "Conservative care"
    assert label("record_dxa") == "DXA scan"


def test_unknown_names_fall_back_to_the_mechanical_rule() -> None:
    assert label(None) == ""
    assert label("site_custom_kind") == "site custom kind"
    assert label("site_fls_review") == "site FLS review"
    assert not known("site_custom_kind")


def test_sentences_keep_initials() -> None:
    assert in_sentence("conservative_care") == "conservative care"
    assert in_sentence("record_dxa") == "DXA scan"
    assert in_sentence("xray") == "X-ray"
    assert in_sentence("mri") == "MRI"
    assert transition_phrase("record_reassessment", "conservative_care", "reassessed") == (
        "Reassessment: conservative care → reassessed")
    assert transition_phrase("record_therapy", "imaged", "imaged") == "Therapy started"


def test_a_name_shared_by_several_enums_has_one_label() -> None:
    for enum in ENUMS:
        for member in enum:
            assert BY_ENUM[enum][member] == label(member.value), member
