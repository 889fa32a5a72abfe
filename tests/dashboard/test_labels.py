"""Vocabulary names shown to people: underscores become spaces, initials stay initials."""

from __future__ import annotations

from api.dashboard.web import label, trigger


def test_labels_read_as_words_with_initials() -> None:
    assert label("conservative_care") == "conservative care"
    assert label("record_dxa") == "record DXA"
    assert label("fls_assessment_overdue") == "FLS assessment overdue"
    assert label("frax_major_pct") == "FRAX major %"
    assert label(None) == ""
    assert trigger("record_dxa:not_done") == "record DXA (not done)"
