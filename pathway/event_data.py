"""The data each event and fact carries, validated with pydantic; errors name the field."""

from __future__ import annotations

import datetime as dt
import re
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
    CommunicationKind,
    ContactKind,
    DeclineReason,
    DxaNotDone,
    EarlyAugmentationReason,
    ExerciseSetting,
    Fact,
    FallsRisk,
    FractureRisk,
    ImagingFinding,
    Modality,
    NeuroFinding,
    NotRecommended,
    RecommendedTo,
    RedFlag,
    RiskTool,
    StrengthBalanceNotStarted,
    SurgeryReason,
    Symptoms,
    TransitionEvent,
)

FreeText = Annotated[str, Field(max_length=2000)]
EARLIEST_DATE = dt.date(1900, 1, 1)


#: A calendar date as the wire carries it: four, two and two ASCII digits.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date_only(value: Any) -> Any:
    """A date arrives as `YYYY-MM-DD` (or a date) and nothing else: pydantic would read a
    number as a Unix time, so `1772409600` silently became 2026-03-02 (found by tests/faults),
    and `2026-01-01T00:00:00` or `2026-01-01 00:00` as the day they begin."""
    if isinstance(value, dt.date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
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


class FieldProblem(ValueError):
    """A check across fields that still names the one field at fault (pydantic's model
    validators name none)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _either(model: BaseModel, done: tuple[str, ...], instead: str) -> None:
    """The fields of `done` all given, or `instead` alone: never both, never neither."""
    given = [name for name in done if getattr(model, name) is not None]
    if getattr(model, instead) is not None:
        if given:
            raise FieldProblem(given[0], f"must not come with {instead}")
        return
    missing = [name for name in done if getattr(model, name) is None]
    if missing:
        raise FieldProblem(missing[0], f"required (or {instead} with its reason)")


Percent = Annotated[float, Field(ge=0, le=100, strict=True)]
TScore = Annotated[float, Field(ge=-7.0, le=5.0, strict=True)]


class RecordFlsAssessment(EventData):
    """The fracture liaison assessment of fracture risk (FLS-DB: assessed; IOF)."""

    assessed_on: IsoDate
    fracture_risk: FractureRisk
    tool: RiskTool | None = None
    frax_major_pct: Percent | None = None
    frax_hip_pct: Percent | None = None


class RecordDxa(EventData):
    """A DXA scan with its T-scores, or why none was done."""

    performed_on: IsoDate | None = None
    t_score_lumbar: TScore | None = None
    t_score_femoral_neck: TScore | None = None
    t_score_total_hip: TScore | None = None
    not_done: DxaNotDone | None = None

    @model_validator(mode="after")
    def _done_or_not(self) -> RecordDxa:
        scores = [self.t_score_lumbar, self.t_score_femoral_neck, self.t_score_total_hip]
        if self.not_done is not None and any(s is not None for s in scores):
            named = ("t_score_lumbar", "t_score_femoral_neck", "t_score_total_hip")
            raise FieldProblem(next(n for n, s in zip(named, scores, strict=True)
                                    if s is not None), "must not come with not_done")
        _either(self, ("performed_on",), "not_done")
        return self


class RecordFallsAssessment(EventData):
    """A falls risk assessment and whether the patient was referred to a falls service."""

    assessed_on: IsoDate
    falls_risk: FallsRisk
    referred_to_falls_service: StrictBool


class RecordStrengthBalance(EventData):
    """Strength and balance training started (where), or why not."""

    started_on: IsoDate | None = None
    setting: ExerciseSetting | None = None
    not_started: StrengthBalanceNotStarted | None = None

    @model_validator(mode="after")
    def _started_or_not(self) -> RecordStrengthBalance:
        _either(self, ("started_on", "setting"), "not_started")
        return self


class RecommendTherapy(EventData):
    """Bone therapy recommended (which agent, to whom), or why not."""

    recommended_on: IsoDate | None = None
    agent: Agent | None = None
    to: RecommendedTo | None = None
    not_recommended: NotRecommended | None = None

    @model_validator(mode="after")
    def _recommended_or_not(self) -> RecommendTherapy:
        _either(self, ("recommended_on", "agent", "to"), "not_recommended")
        return self


class RecordCommunication(EventData):
    """A letter to primary care or the patient, or patient education, sent."""

    kind: CommunicationKind
    sent_on: IsoDate


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
    Fact.RECORD_FLS_ASSESSMENT: RecordFlsAssessment,
    Fact.RECORD_DXA: RecordDxa,
    Fact.RECORD_FALLS_ASSESSMENT: RecordFallsAssessment,
    Fact.RECORD_STRENGTH_BALANCE: RecordStrengthBalance,
    Fact.RECOMMEND_THERAPY: RecommendTherapy,
    Fact.RECORD_COMMUNICATION: RecordCommunication,
}

M = TypeVar("M", bound=BaseModel)


def first_error(exc: ValidationError, prefix: str) -> InvalidData:
    """Turn pydantic's first error into an InvalidData naming the dotted field path."""
    err = exc.errors(include_url=False)[0]
    problem = err.get("ctx", {}).get("error")
    if isinstance(problem, FieldProblem):
        return InvalidData(f"{prefix}.{problem.field}", problem.reason)
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
