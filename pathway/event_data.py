"""The data each event and fact carries, validated with pydantic; errors name the field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)

from pathway.errors import InvalidData
from pathway.vocabulary import (
    Agent,
    AugmentationDecision,
    CloseReason,
    ContactKind,
    DeclineReason,
    EarlyAugmentationReason,
    Fact,
    ImagingFinding,
    Modality,
    NeuroFinding,
    RedFlag,
    SurgeryReason,
    Symptoms,
    TransitionEvent,
)

FreeText = Annotated[str, Field(max_length=2000)]
EARLIEST_DATE = dt.date(1900, 1, 1)


def iso_date_only(value: Any) -> Any:
    """A date arrives as `YYYY-MM-DD` (or a date): pydantic would read a number as a Unix
    time, so `1772409600` silently became 2026-03-02 (found by tests/faults)."""
    if isinstance(value, str | dt.date):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


#: A calendar date sent as an ISO string, never a number.
IsoDate = Annotated[dt.date, BeforeValidator(iso_date_only)]


class EventData(BaseModel):
    """Common base: unknown fields are refused; every event may carry a note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: FreeText | None = None


class NoData(EventData):
    pass


class SuspectMalignancy(EventData):
    red_flags: Annotated[list[RedFlag], Field(min_length=1, max_length=4)]


class ConfirmMalignancy(EventData):
    biopsy_on: IsoDate | None = None


class RecordReassessment(EventData):
    pain_score: Annotated[int, Field(ge=0, le=10, strict=True)]
    symptoms: Symptoms


class RecordImaging(EventData):
    modality: Modality
    finding: ImagingFinding


class ReviewAugmentation(EventData):
    decision: AugmentationDecision


class ReferEarlyAugmentation(EventData):
    reason: EarlyAugmentationReason


class ReferSurgery(EventData):
    reason: SurgeryReason


class Close(EventData):
    reason: CloseReason


class RecordTherapy(EventData):
    agent: Agent
    started_on: IsoDate | None = None
    dose: Annotated[str, Field(max_length=200)] | None = None


class DeclineTherapy(EventData):
    reason: DeclineReason


class RecordNeuroChange(EventData):
    findings: Annotated[list[NeuroFinding], Field(min_length=1, max_length=4)]


class RecordSymptomChange(EventData):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class RecordContact(EventData):
    kind: ContactKind
    adherent: StrictBool | None = None

    @model_validator(mode="after")
    def _adherence_needs_answer(self) -> RecordContact:
        if self.kind == ContactKind.ADHERENCE_REVIEW and self.adherent is None:
            raise ValueError("adherent (true or false) is required for an adherence review")
        return self


DATA_SCHEMAS: dict[str, type[EventData]] = {
    TransitionEvent.START_CONSERVATIVE_CARE: NoData,
    TransitionEvent.SUSPECT_MALIGNANCY: SuspectMalignancy,
    TransitionEvent.EXCLUDE_MALIGNANCY: NoData,
    TransitionEvent.CONFIRM_MALIGNANCY: ConfirmMalignancy,
    TransitionEvent.RECORD_REASSESSMENT: RecordReassessment,
    TransitionEvent.RECORD_IMAGING: RecordImaging,
    TransitionEvent.REVIEW_AUGMENTATION: ReviewAugmentation,
    TransitionEvent.REFER_EARLY_AUGMENTATION: ReferEarlyAugmentation,
    TransitionEvent.REFER_SURGERY: ReferSurgery,
    TransitionEvent.RESOLVE: NoData,
    TransitionEvent.CLOSE: Close,
    Fact.RECORD_THERAPY: RecordTherapy,
    Fact.DECLINE_THERAPY: DeclineTherapy,
    Fact.RECORD_NEURO_CHANGE: RecordNeuroChange,
    Fact.RECORD_SYMPTOM_CHANGE: RecordSymptomChange,
    Fact.RECORD_CONTACT: RecordContact,
}

M = TypeVar("M", bound=BaseModel)


def first_error(exc: ValidationError, prefix: str) -> InvalidData:
    """Turn pydantic's first error into an InvalidData naming the dotted field path."""
    err = exc.errors(include_url=False)[0]
    path = ".".join(str(p) for p in err["loc"])
    field = f"{prefix}.{path}" if path else prefix
    return InvalidData(field, str(err["msg"]))


def validate_model(model: type[M], data: Any, prefix: str) -> M:
    """Validate `data` against `model` or raise InvalidData for the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc, prefix) from exc


def validate_event_data(event: str, data: Any) -> EventData:
    """Validate the data of a named event or fact."""
    schema = DATA_SCHEMAS.get(event)
    if schema is None:
        raise InvalidData("event", f"unknown event {event!r}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidData("data", "must be an object")
    return validate_model(schema, data, "data")
