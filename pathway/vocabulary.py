"""The public vocabulary of PATHWAY.md: states, events, facts, reminder kinds and their data values.

Integrations send and receive these names, so they are stable: add, never rename.
"""

from __future__ import annotations

from enum import StrEnum


class CareState(StrEnum):
    """States of the fracture-care track."""

    ASSESSED = "assessed"
    PATHOLOGIC_WORKUP = "pathologic_workup"
    CONSERVATIVE_CARE = "conservative_care"
    REASSESSED = "reassessed"
    IMAGED = "imaged"
    AUGMENTATION_REFERRAL = "augmentation_referral"
    SURGICAL_REFERRAL = "surgical_referral"
    ONCOLOGY_REFERRAL = "oncology_referral"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: States that end the fracture-care track (the bone-health track goes on until `closed`).
TRACK_FINAL_STATES = frozenset(
    {
        CareState.AUGMENTATION_REFERRAL,
        CareState.SURGICAL_REFERRAL,
        CareState.ONCOLOGY_REFERRAL,
        CareState.RESOLVED,
        CareState.CLOSED,
    }
)


class TransitionEvent(StrEnum):
    """Events that may move the fracture-care track."""

    START_CONSERVATIVE_CARE = "start_conservative_care"
    SUSPECT_MALIGNANCY = "suspect_malignancy"
    EXCLUDE_MALIGNANCY = "exclude_malignancy"
    CONFIRM_MALIGNANCY = "confirm_malignancy"
    RECORD_REASSESSMENT = "record_reassessment"
    RECORD_IMAGING = "record_imaging"
    REVIEW_AUGMENTATION = "review_augmentation"
    REFER_EARLY_AUGMENTATION = "refer_early_augmentation"
    REFER_SURGERY = "refer_surgery"
    RESOLVE = "resolve"
    CLOSE = "close"


class Fact(StrEnum):
    """Facts recorded in any state but `closed`, without moving the fracture-care track."""

    RECORD_THERAPY = "record_therapy"
    DECLINE_THERAPY = "decline_therapy"
    RECORD_NEURO_CHANGE = "record_neuro_change"
    RECORD_SYMPTOM_CHANGE = "record_symptom_change"
    RECORD_CONTACT = "record_contact"
    # The fracture liaison data set (pathway version 2; recorded on any version).
    RECORD_FLS_ASSESSMENT = "record_fls_assessment"
    RECORD_DXA = "record_dxa"
    RECORD_FALLS_ASSESSMENT = "record_falls_assessment"
    RECORD_STRENGTH_BALANCE = "record_strength_balance"
    RECOMMEND_THERAPY = "recommend_therapy"
    RECORD_COMMUNICATION = "record_communication"


#: Every name an integration may send to `POST /v1/episodes/{id}/events`.
ALL_EVENT_NAMES: tuple[str, ...] = tuple(e.value for e in TransitionEvent) + tuple(
    f.value for f in Fact
)

#: The name recorded in the event log for the opening of an episode.
OPENED_EVENT = "open_episode"


class MilestoneKind(StrEnum):
    """Obligations with a due and an overdue day (the rows the scheduler scans)."""

    PLAN_DECISION = "plan_decision"
    REASSESSMENT = "reassessment"
    FOLLOWUP_IMAGING = "followup_imaging"
    AUGMENTATION_REVIEW = "augmentation_review"
    OSTEOPOROSIS_THERAPY = "osteoporosis_therapy"
    CALCIUM_VITAMIN_D = "calcium_vitamin_d"
    CALCITONIN_COURSE_END = "calcitonin_course_end"
    DENOSUMAB_NEXT_DOSE = "denosumab_next_dose"
    LIAISON_MONITORING = "liaison_monitoring"
    ADHERENCE_REVIEW = "adherence_review"
    # Pathway version 2: the fracture liaison data set.
    FLS_ASSESSMENT = "fls_assessment"
    DXA = "dxa"
    FALLS_ASSESSMENT = "falls_assessment"
    THERAPY_RECOMMENDATION = "therapy_recommendation"
    STRENGTH_BALANCE = "strength_balance"
    TREATMENT_GAP = "treatment_gap"


class MilestoneStatus(StrEnum):
    """Where a milestone stands; only `open` rows stay in the scheduler's partial index."""

    OPEN = "open"
    MET = "met"
    DECLINED = "declined"
    CONTRAINDICATED = "contraindicated"
    VOID = "void"


class ReminderKind(StrEnum):
    """Reminder kinds of PATHWAY.md."""

    PLAN_OVERDUE = "plan_overdue"
    REASSESSMENT_DUE = "reassessment_due"
    REASSESSMENT_OVERDUE = "reassessment_overdue"
    IMAGING_OVERDUE = "imaging_overdue"
    AUGMENTATION_REVIEW_OVERDUE = "augmentation_review_overdue"
    OSTEOPOROSIS_THERAPY_OVERDUE = "osteoporosis_therapy_overdue"
    CALCIUM_VITAMIN_D_OVERDUE = "calcium_vitamin_d_overdue"
    CALCITONIN_COURSE_END = "calcitonin_course_end"
    DENOSUMAB_DOSE_OVERDUE = "denosumab_dose_overdue"
    LIAISON_MONITORING_OVERDUE = "liaison_monitoring_overdue"
    ADHERENCE_REVIEW_OVERDUE = "adherence_review_overdue"
    URGENT_SURGICAL_REVIEW = "urgent_surgical_review"
    REPEAT_MRI_NEEDED = "repeat_mri_needed"
    # Pathway version 2.
    FLS_ASSESSMENT_OVERDUE = "fls_assessment_overdue"
    DXA_OVERDUE = "dxa_overdue"
    FALLS_ASSESSMENT_OVERDUE = "falls_assessment_overdue"
    THERAPY_RECOMMENDATION_OVERDUE = "therapy_recommendation_overdue"
    STRENGTH_BALANCE_OVERDUE = "strength_balance_overdue"
    TREATMENT_GAP = "treatment_gap"


class Priority(StrEnum):
    """How quickly a reminder needs action."""

    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"


class ReminderStatus(StrEnum):
    """Where a reminder stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class RedFlag(StrEnum):
    MALIGNANCY_HISTORY = "malignancy_history"
    UNEXPLAINED_WEIGHT_LOSS = "unexplained_weight_loss"
    ATYPICAL_PRESENTATION = "atypical_presentation"
    IMAGING_SUSPICIOUS = "imaging_suspicious"


class NeuroFinding(StrEnum):
    MOTOR_WEAKNESS = "motor_weakness"
    SENSORY_DEFICIT = "sensory_deficit"
    BOWEL_BLADDER_DYSFUNCTION = "bowel_bladder_dysfunction"
    RADICULAR_SYMPTOMS = "radicular_symptoms"


class Symptoms(StrEnum):
    RESOLVED = "resolved"
    IMPROVING = "improving"
    PERSISTENT = "persistent"
    WORSE = "worse"


class Modality(StrEnum):
    MRI = "mri"
    CT = "ct"
    XRAY = "xray"


class ImagingFinding(StrEnum):
    STABLE = "stable"
    NEW_FRACTURE = "new_fracture"
    PROGRESSION = "progression"
    MALIGNANCY_SUSPECTED = "malignancy_suspected"


class AugmentationDecision(StrEnum):
    REFER = "refer"
    CONTINUE = "continue"
    RESOLVED = "resolved"


class EarlyAugmentationReason(StrEnum):
    SEVERE_DISABLING_PAIN = "severe_disabling_pain"
    PARENTERAL_NARCOTICS = "parenteral_narcotics"
    HOSPITAL_ADMISSION = "hospital_admission"
    ANALGESIC_CONTRAINDICATION = "analgesic_contraindication"
    PULMONARY_DYSFUNCTION = "pulmonary_dysfunction"
    PROGRESSIVE_DEFORMITY = "progressive_deformity"
    WORSENING_DESPITE_MEDICATION = "worsening_despite_medication"


class SurgeryReason(StrEnum):
    NEUROLOGICAL_DEFICIT = "neurological_deficit"
    INSTABILITY = "instability"
    CORD_COMPRESSION = "cord_compression"
    PROGRESSIVE_DEFORMITY = "progressive_deformity"
    FAILED_MEDICAL_MANAGEMENT = "failed_medical_management"


class CloseReason(StrEnum):
    WITHDRAWN = "withdrawn"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    ENTERED_IN_ERROR = "entered_in_error"


class Agent(StrEnum):
    ALENDRONATE = "alendronate"
    RISEDRONATE = "risedronate"
    IBANDRONATE = "ibandronate"
    ZOLEDRONIC_ACID = "zoledronic_acid"
    DENOSUMAB = "denosumab"
    TERIPARATIDE = "teriparatide"
    STRONTIUM_RANELATE = "strontium_ranelate"
    CALCIUM_VITAMIN_D = "calcium_vitamin_d"
    CALCITONIN = "calcitonin"


class DeclineReason(StrEnum):
    DECLINED = "declined"
    CONTRAINDICATED = "contraindicated"


class ContactKind(StrEnum):
    LIAISON_MONITORING = "liaison_monitoring"
    ADHERENCE_REVIEW = "adherence_review"


class FractureRisk(StrEnum):
    LOW = "low"
    INTERMEDIATE = "intermediate"
    HIGH = "high"
    VERY_HIGH = "very_high"


class RiskTool(StrEnum):
    FRAX = "frax"
    QFRACTURE = "qfracture"
    CLINICAL = "clinical"


class DxaNotDone(StrEnum):
    NOT_INDICATED = "not_indicated"
    DECLINED = "declined"
    UNABLE = "unable"


class FallsRisk(StrEnum):
    LOW = "low"
    HIGH = "high"


class ExerciseSetting(StrEnum):
    COMMUNITY = "community"
    HOSPITAL = "hospital"
    HOME = "home"


class StrengthBalanceNotStarted(StrEnum):
    DECLINED = "declined"
    NOT_INDICATED = "not_indicated"


class RecommendedTo(StrEnum):
    PRIMARY_CARE = "primary_care"
    FLS_CLINIC = "fls_clinic"
    SPECIALIST = "specialist"


class NotRecommended(StrEnum):
    NOT_INDICATED = "not_indicated"
    ALREADY_TREATED = "already_treated"
    DECLINED = "declined"


class CommunicationKind(StrEnum):
    PRIMARY_CARE_LETTER = "primary_care_letter"
    PATIENT_LETTER = "patient_letter"
    PATIENT_EDUCATION = "patient_education"


class Cause(StrEnum):
    OSTEOPOROTIC = "osteoporotic"
    TRAUMATIC = "traumatic"
    PATHOLOGIC = "pathologic"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """What a caller may do (see api/ for the route-by-route mapping)."""

    INTEGRATION = "integration"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    ADMIN = "admin"


#: Vertebral levels a fracture can be recorded at, top to bottom.
LEVELS: tuple[str, ...] = tuple(f"T{i}" for i in range(1, 13)) + tuple(
    f"L{i}" for i in range(1, 6)
)
