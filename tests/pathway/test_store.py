"""The store's snapshots are built from rows by position: their fields follow the tables'."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Table

from pathway.rules.snapshot import EpisodeSnapshot, MilestoneSnapshot, PatientSnapshot
from pathway.store.reads import ReminderRow
from pathway.store.tables import EPISODES, MILESTONES, PATIENTS, REMINDERS


@pytest.mark.parametrize(("cls", "table"), [(EpisodeSnapshot, EPISODES),
                                            (MilestoneSnapshot, MILESTONES),
                                            (PatientSnapshot, PATIENTS),
                                            (ReminderRow, REMINDERS)])
def test_fields_follow_the_columns(cls: type, table: Table) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    # The worklist's `attention` is the database's to keep; the rules never see it.
    columns = [c.key for c in table.columns if c.key != "attention"]
    assert names[:len(columns)] == columns
