"""Patients and episodes (PATHWAY.md): an MRN's demographics must match, the same fracture
is not opened twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pathway.rules.snapshot import PatientSnapshot


def _same_name(stored: str | None, sent: str) -> bool:
    # Case and spacing are how a record system writes a name, not who the patient is.
    return stored is not None and " ".join(stored.split()).casefold() == " ".join(
        sent.split()).casefold()


def identity_differences(stored: PatientSnapshot, *, name: str | None,
                         birth_date: dt.date | None) -> list[str]:
    """The demographics an intake sends that differ from what is stored (what it leaves out
    is not a difference)."""
    found = []
    if name is not None and not _same_name(stored.name, name):
        found.append("name")
    if birth_date is not None and stored.birth_date != birth_date:
        found.append("birth_date")
    return found


def duplicate_of(open_episodes: Iterable[tuple[int, Sequence[str]]],
                 levels: Sequence[str]) -> tuple[int, list[str]] | None:
    """The open episode (same patient and day 0, as given) that shares a level with a new
    intake, and the shared levels; None when the intake is a new fracture."""
    for episode_id, their_levels in open_episodes:
        shared = [lvl for lvl in levels if lvl in their_levels]
        if shared:
            return episode_id, shared
    return None
