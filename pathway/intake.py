"""The intake assessment that opens an episode."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from pathway.event_data import IsoDate
from pathway.vocabulary import LEVELS, Cause, ImagingFinding, Modality, NeuroFinding, RedFlag

Name = Annotated[str, Field(min_length=1, max_length=200)]


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mrn: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
    name: Name | None = None
    birth_date: IsoDate | None = None


class InitialImaging(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modality: Modality
    performed_on: IsoDate
    finding: ImagingFinding | None = None


class IntakeAssessment(BaseModel):
    """Everything PATHWAY.md asks for at intake."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patient: PatientIn
    levels: Annotated[list[str], Field(min_length=1, max_length=17)]
    identified_on: IsoDate
    injury_on: IsoDate | None = None
    cause: Cause = Cause.UNKNOWN
    neuro_exam: Annotated[
        Literal["intact", "not_recorded"] | Annotated[list[NeuroFinding], Field(min_length=1)],
        Field(description='"intact", "not_recorded", or the list of neurological findings'),
    ]
    red_flags: Annotated[list[RedFlag], Field(max_length=4)] = []
    instability: StrictBool = False
    cord_compression: StrictBool = False
    progressive_deformity: StrictBool = False
    pain_score: Annotated[int, Field(ge=0, le=10, strict=True)]
    initial_imaging: InitialImaging | None = None
    coordinator: Annotated[str, Field(min_length=1, max_length=120)] | None = None

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, levels: list[str]) -> list[str]:
        unknown = [lvl for lvl in levels if lvl not in LEVELS]
        if unknown:
            raise ValueError(f"unknown level {unknown[0]!r}; use T1-T12 or L1-L5")
        if len(set(levels)) != len(levels):
            raise ValueError("levels must not repeat")
        return sorted(levels, key=LEVELS.index)

    @property
    def neuro_intact(self) -> bool:
        """Recorded and without findings."""
        return self.neuro_exam == "intact"
