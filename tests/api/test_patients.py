"""Patients and episodes (PATHWAY.md): an MRN's demographics must match what is stored, the
same fracture is not opened twice, a later fracture is a new episode of the same patient."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pathway.store.models import Episode, EventRecord, Patient
from tests.api.support import ApiHarness
from tests.builders import intake

PATIENT = {"mrn": "ID0001", "name": "Ada Lovelace", "birth_date": "1940-12-10"}


def _post(api: ApiHarness, **overrides: Any) -> Any:
    return api.client.post("/v1/episodes", json=intake(**overrides), headers=api.auth())


def _counts(api: ApiHarness) -> tuple[int, int, int]:
    with api.db.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Patient)) or 0,
                s.scalar(select(func.count()).select_from(Episode)) or 0,
                s.scalar(select(func.count()).select_from(EventRecord)) or 0)


def _patients_of(api: ApiHarness, *episodes: dict[str, Any]) -> set[int]:
    with api.db.sessions() as s:
        return set(s.scalars(select(Episode.patient_id).where(
            Episode.id.in_([e["id"] for e in episodes]))))


def test_a_known_mrn_with_other_demographics_is_refused(api: ApiHarness) -> None:
    api.open(patient=PATIENT, levels=["L1"])
    before = _counts(api)
    for sent, fields in (({**PATIENT, "name": "Ada Byron"}, ["patient.name"]),
                         ({**PATIENT, "birth_date": "1941-12-10"}, ["patient.birth_date"]),
                         ({"mrn": "ID0001", "name": "Someone Else", "birth_date": "1950-01-01"},
                          ["patient.name", "patient.birth_date"])):
        response = _post(api, patient=sent, levels=["T7"], identified_on="2026-02-01")
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["type"].endswith("identity-mismatch") and body["fields"] == fields
        assert "ID0001" in body["detail"] and "Someone" not in body["detail"]
    assert _counts(api) == before  # nothing written


def test_case_spacing_and_left_out_demographics_are_the_same_patient(api: ApiHarness) -> None:
    first = api.open(patient=PATIENT, levels=["L1"], identified_on="2026-01-05")
    again = api.open(patient={"mrn": "ID0001", "name": "  ada   LOVELACE "}, levels=["T7"])
    bare = api.open(patient={"mrn": "ID0001"}, levels=["T9"])
    assert len(_patients_of(api, first, again, bare)) == 1
    assert again["patient"]["name"] == "Ada Lovelace"  # the stored name, unchanged


def test_the_same_fracture_twice_is_refused_naming_the_episode(api: ApiHarness) -> None:
    first = api.open(patient=PATIENT, levels=["L1", "L2"])
    before = _counts(api)
    response = _post(api, patient=PATIENT, levels=["L2", "L3"])
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["type"].endswith("duplicate-episode")
    assert (body["existing_episode"], body["levels"]) == (first["id"], ["L2"])
    assert _counts(api) == before


def test_another_level_another_day_or_a_closed_episode_is_a_new_episode(
        api: ApiHarness) -> None:
    first = api.open(patient=PATIENT, levels=["L1"])
    other_level = api.open(patient=PATIENT, levels=["T12"])
    later = api.open(patient=PATIENT, levels=["L1"], identified_on="2026-02-20")
    assert api.send(first["id"], "close", reason="entered_in_error").status_code == 201
    reopened = api.open(patient=PATIENT, levels=["L1"])
    ids = {first["id"], other_level["id"], later["id"], reopened["id"]}
    assert len(ids) == 4
    assert len(_patients_of(api, first, other_level, later, reopened)) == 1
