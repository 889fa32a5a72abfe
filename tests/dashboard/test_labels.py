"""Vocabulary names shown to people: the dashboard's filters read `pathway.labels`' table;
names outside it still read as words with initials kept."""

from __future__ import annotations

from api.dashboard.web import label, make_templates, trigger


def test_labels_read_as_words_with_initials() -> None:
    assert label("conservative_care") == "Conservative care"
    assert label("record_dxa") == "DXA scan"
    assert label("record_reassessment") == "Reassessment"
    assert label("fls_assessment_overdue") == "FLS assessment overdue"
    assert label("frax_major_pct") == "FRAX major osteoporotic fracture %"
    assert label("site_frax_pct") == "site FRAX %"  # not in the table: the mechanical rule
    assert label(None) == ""
    assert trigger("record_dxa:not_done") == "DXA scan not done"
    assert trigger("record_therapy:teriparatide") == "Therapy started (teriparatide)"
    assert trigger("enter:surgical_referral") == "entering surgical referral"
    assert trigger("open_episode") == "opening of the episode"


def test_templates_have_the_label_filters() -> None:
    env = make_templates().env
    page = env.from_string("{{ 'record_reassessment'|action }}; while {{ 'imaged'|in_sentence }}")
    assert page.render() == "Record reassessment; while imaged"
