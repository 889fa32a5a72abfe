"""Human labels for the public vocabulary: the one table of the words people read.

This module owns what a person sees for every code name of `pathway.vocabulary`: the care
states, transition events, facts, milestone and reminder kinds, priorities, statuses and the
values carried in event data; also the labels of the event data's field names, the words for
the state machine's guards (`pathway.rules.guards`) and the button text of each event.
Integrations keep sending and receiving the code names (PATHWAY.md); only the labels are for
people, so a label may be reworded at any time, a code name never.

`label(name)` looks a name up across the whole table; a name that is in several enums (such as
`resolved`, a care state, a reminder status, a symptom value and an augmentation decision)
has one label everywhere, which the module checks when it is imported. A name that is not in
the table (a site's own kind, a field added later) falls back to the mechanical rule:
underscores become spaces and known initials stay initials (`frax_major_pct` -> `FRAX major %`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pathway.vocabulary import (
    OPENED_EVENT,
    Agent,
    AugmentationDecision,
    CareState,
    Cause,
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
    MilestoneKind,
    MilestoneStatus,
    Modality,
    NeuroFinding,
    NotRecommended,
    Priority,
    RecommendedTo,
    RedFlag,
    ReminderKind,
    ReminderStatus,
    RiskTool,
    Role,
    StrengthBalanceNotStarted,
    SurgeryReason,
    Symptoms,
    TransitionEvent,
)

#: Words of the vocabulary that people write as initials (the fallback's only knowledge).
INITIALS: Mapping[str, str] = MappingProxyType({
    "fls": "FLS", "dxa": "DXA", "mri": "MRI", "ct": "CT", "frax": "FRAX",
    "qfracture": "QFracture", "pct": "%", "iof": "IOF", "mrn": "MRN",
})

CARE_STATES: Mapping[str, str] = MappingProxyType({
    CareState.ASSESSED: "Assessed",
    CareState.PATHOLOGIC_WORKUP: "Pathologic work-up",
    CareState.CONSERVATIVE_CARE: "Conservative care",
    CareState.REASSESSED: "Reassessed",
    CareState.IMAGED: "Imaged",
    CareState.AUGMENTATION_REFERRAL: "Augmentation referral",
    CareState.SURGICAL_REFERRAL: "Surgical referral",
    CareState.ONCOLOGY_REFERRAL: "Oncology referral",
    CareState.RESOLVED: "Resolved",
    CareState.CLOSED: "Closed",
})

#: What happened, as a person names it in a list of events ("Reassessment", not the verb).
TRANSITION_EVENTS: Mapping[str, str] = MappingProxyType({
    TransitionEvent.START_CONSERVATIVE_CARE: "Start conservative care",
    TransitionEvent.SUSPECT_MALIGNANCY: "Suspect malignancy",
    TransitionEvent.EXCLUDE_MALIGNANCY: "Exclude malignancy",
    TransitionEvent.CONFIRM_MALIGNANCY: "Confirm malignancy",
    TransitionEvent.RECORD_REASSESSMENT: "Reassessment",
    TransitionEvent.RECORD_IMAGING: "Follow-up imaging",
    TransitionEvent.REVIEW_AUGMENTATION: "Augmentation review",
    TransitionEvent.REFER_EARLY_AUGMENTATION: "Refer for early augmentation",
    TransitionEvent.REFER_SURGERY: "Refer to surgery",
    TransitionEvent.RESOLVE: "Symptoms resolved",
    TransitionEvent.CLOSE: "Close the episode",
})

FACTS: Mapping[str, str] = MappingProxyType({
    Fact.RECORD_THERAPY: "Therapy started",
    Fact.DECLINE_THERAPY: "Therapy declined or contraindicated",
    Fact.RECORD_NEURO_CHANGE: "Neurological change",
    Fact.RECORD_SYMPTOM_CHANGE: "Symptom change",
    Fact.RECORD_CONTACT: "Follow-up contact",
    Fact.RECORD_FLS_ASSESSMENT: "FLS assessment",
    Fact.RECORD_DXA: "DXA scan",
    Fact.RECORD_FALLS_ASSESSMENT: "Falls assessment",
    Fact.RECORD_STRENGTH_BALANCE: "Strength and balance training",
    Fact.RECOMMEND_THERAPY: "Therapy recommendation",
    Fact.RECORD_COMMUNICATION: "Letter or patient education",
})

MILESTONE_KINDS: Mapping[str, str] = MappingProxyType({
    MilestoneKind.PLAN_DECISION: "Plan decision",
    MilestoneKind.REASSESSMENT: "Reassessment",
    MilestoneKind.FOLLOWUP_IMAGING: "Follow-up imaging",
    MilestoneKind.AUGMENTATION_REVIEW: "Augmentation review",
    MilestoneKind.OSTEOPOROSIS_THERAPY: "Osteoporosis drug therapy",
    MilestoneKind.CALCIUM_VITAMIN_D: "Calcium and vitamin D",
    MilestoneKind.CALCITONIN_COURSE_END: "Calcitonin course end",
    MilestoneKind.DENOSUMAB_NEXT_DOSE: "Next denosumab dose",
    MilestoneKind.LIAISON_MONITORING: "Liaison monitoring contact",
    MilestoneKind.ADHERENCE_REVIEW: "One-year adherence review",
    MilestoneKind.FLS_ASSESSMENT: "FLS assessment",
    MilestoneKind.DXA: "DXA scan",
    MilestoneKind.FALLS_ASSESSMENT: "Falls assessment",
    MilestoneKind.THERAPY_RECOMMENDATION: "Therapy recommendation",
    MilestoneKind.STRENGTH_BALANCE: "Strength and balance training",
    MilestoneKind.TREATMENT_GAP: "Treatment gap",
})

MILESTONE_STATUSES: Mapping[str, str] = MappingProxyType({
    MilestoneStatus.OPEN: "Open",
    MilestoneStatus.MET: "Met",
    MilestoneStatus.DECLINED: "Declined",
    MilestoneStatus.CONTRAINDICATED: "Contraindicated",
    MilestoneStatus.VOID: "No longer applies",
})

REMINDER_KINDS: Mapping[str, str] = MappingProxyType({
    ReminderKind.PLAN_OVERDUE: "Plan decision overdue",
    ReminderKind.REASSESSMENT_DUE: "Reassessment due",
    ReminderKind.REASSESSMENT_OVERDUE: "Reassessment overdue",
    ReminderKind.IMAGING_OVERDUE: "Follow-up imaging overdue",
    ReminderKind.AUGMENTATION_REVIEW_OVERDUE: "Augmentation review overdue",
    ReminderKind.OSTEOPOROSIS_THERAPY_OVERDUE: "Osteoporosis therapy overdue",
    ReminderKind.CALCIUM_VITAMIN_D_OVERDUE: "Calcium and vitamin D overdue",
    ReminderKind.CALCITONIN_COURSE_END: "Calcitonin course end",
    ReminderKind.DENOSUMAB_DOSE_OVERDUE: "Denosumab dose overdue",
    ReminderKind.LIAISON_MONITORING_OVERDUE: "Liaison monitoring overdue",
    ReminderKind.ADHERENCE_REVIEW_OVERDUE: "Adherence review overdue",
    ReminderKind.URGENT_SURGICAL_REVIEW: "Urgent surgical review",
    ReminderKind.REPEAT_MRI_NEEDED: "Repeat MRI needed",
    ReminderKind.FLS_ASSESSMENT_OVERDUE: "FLS assessment overdue",
    ReminderKind.DXA_OVERDUE: "DXA scan overdue",
    ReminderKind.FALLS_ASSESSMENT_OVERDUE: "Falls assessment overdue",
    ReminderKind.THERAPY_RECOMMENDATION_OVERDUE: "Therapy recommendation overdue",
    ReminderKind.STRENGTH_BALANCE_OVERDUE: "Strength and balance overdue",
    ReminderKind.TREATMENT_GAP: "Treatment gap",
})

PRIORITIES: Mapping[str, str] = MappingProxyType({
    Priority.ROUTINE: "Routine",
    Priority.URGENT: "Urgent",
    Priority.STAT: "Stat",  # PATHWAY.md's word: act at once
})

REMINDER_STATUSES: Mapping[str, str] = MappingProxyType({
    ReminderStatus.OPEN: "Open",
    ReminderStatus.ACKNOWLEDGED: "Acknowledged",
    ReminderStatus.SNOOZED: "Snoozed",
    ReminderStatus.RESOLVED: "Resolved",
})

# The values carried in event data and the intake assessment.
RED_FLAGS: Mapping[str, str] = MappingProxyType({
    RedFlag.MALIGNANCY_HISTORY: "History of malignancy",
    RedFlag.UNEXPLAINED_WEIGHT_LOSS: "Unexplained weight loss",
    RedFlag.ATYPICAL_PRESENTATION: "Atypical presentation",
    RedFlag.IMAGING_SUSPICIOUS: "Suspicious imaging",
})
NEURO_FINDINGS: Mapping[str, str] = MappingProxyType({
    NeuroFinding.MOTOR_WEAKNESS: "Motor weakness",
    NeuroFinding.SENSORY_DEFICIT: "Sensory deficit",
    NeuroFinding.BOWEL_BLADDER_DYSFUNCTION: "Bowel or bladder dysfunction",
    NeuroFinding.RADICULAR_SYMPTOMS: "Radicular symptoms",
})
SYMPTOMS: Mapping[str, str] = MappingProxyType({
    Symptoms.RESOLVED: "Resolved",
    Symptoms.IMPROVING: "Improving",
    Symptoms.PERSISTENT: "Persistent",
    Symptoms.WORSE: "Worse",
})
MODALITIES: Mapping[str, str] = MappingProxyType({
    Modality.MRI: "MRI", Modality.CT: "CT", Modality.XRAY: "X-ray",
})
IMAGING_FINDINGS: Mapping[str, str] = MappingProxyType({
    ImagingFinding.STABLE: "Stable",
    ImagingFinding.NEW_FRACTURE: "New fracture",
    ImagingFinding.PROGRESSION: "Progression",
    ImagingFinding.MALIGNANCY_SUSPECTED: "Malignancy suspected",
})
AUGMENTATION_DECISIONS: Mapping[str, str] = MappingProxyType({
    AugmentationDecision.REFER: "Refer for augmentation",
    AugmentationDecision.CONTINUE: "Continue conservative care",
    AugmentationDecision.RESOLVED: "Resolved",
})
EARLY_AUGMENTATION_REASONS: Mapping[str, str] = MappingProxyType({
    EarlyAugmentationReason.SEVERE_DISABLING_PAIN: "Severe disabling pain",
    EarlyAugmentationReason.PARENTERAL_NARCOTICS: "Needs parenteral narcotics",
    EarlyAugmentationReason.HOSPITAL_ADMISSION: "Hospital admission",
    EarlyAugmentationReason.ANALGESIC_CONTRAINDICATION: "Analgesics contraindicated",
    EarlyAugmentationReason.PULMONARY_DYSFUNCTION: "Pulmonary dysfunction",
    EarlyAugmentationReason.PROGRESSIVE_DEFORMITY: "Progressive deformity",
    EarlyAugmentationReason.WORSENING_DESPITE_MEDICATION: "Worsening despite medication",
})
SURGERY_REASONS: Mapping[str, str] = MappingProxyType({
    SurgeryReason.NEUROLOGICAL_DEFICIT: "Neurological deficit",
    SurgeryReason.INSTABILITY: "Instability",
    SurgeryReason.CORD_COMPRESSION: "Cord compression",
    SurgeryReason.PROGRESSIVE_DEFORMITY: "Progressive deformity",
    SurgeryReason.FAILED_MEDICAL_MANAGEMENT: "Failed medical management",
})
CLOSE_REASONS: Mapping[str, str] = MappingProxyType({
    CloseReason.WITHDRAWN: "Withdrawn",
    CloseReason.TRANSFERRED: "Transferred",
    CloseReason.DECEASED: "Deceased",
    CloseReason.LOST_TO_FOLLOW_UP: "Lost to follow-up",
    CloseReason.ENTERED_IN_ERROR: "Entered in error",
})
AGENTS: Mapping[str, str] = MappingProxyType({
    Agent.ALENDRONATE: "Alendronate",
    Agent.RISEDRONATE: "Risedronate",
    Agent.IBANDRONATE: "Ibandronate",
    Agent.ZOLEDRONIC_ACID: "Zoledronic acid",
    Agent.DENOSUMAB: "Denosumab",
    Agent.TERIPARATIDE: "Teriparatide",
    Agent.STRONTIUM_RANELATE: "Strontium ranelate",
    Agent.CALCIUM_VITAMIN_D: "Calcium and vitamin D",
    Agent.CALCITONIN: "Calcitonin",
})
DECLINE_REASONS: Mapping[str, str] = MappingProxyType({
    DeclineReason.DECLINED: "Declined", DeclineReason.CONTRAINDICATED: "Contraindicated",
})
CONTACT_KINDS: Mapping[str, str] = MappingProxyType({
    ContactKind.LIAISON_MONITORING: "Liaison monitoring contact",
    ContactKind.ADHERENCE_REVIEW: "One-year adherence review",
})
FRACTURE_RISKS: Mapping[str, str] = MappingProxyType({
    FractureRisk.LOW: "Low", FractureRisk.INTERMEDIATE: "Intermediate",
    FractureRisk.HIGH: "High", FractureRisk.VERY_HIGH: "Very high",
})
RISK_TOOLS: Mapping[str, str] = MappingProxyType({
    RiskTool.FRAX: "FRAX", RiskTool.QFRACTURE: "QFracture",
    RiskTool.CLINICAL: "Clinical judgement",
})
DXA_NOT_DONE: Mapping[str, str] = MappingProxyType({
    DxaNotDone.NOT_INDICATED: "Not indicated", DxaNotDone.DECLINED: "Declined",
    DxaNotDone.UNABLE: "Unable to have the scan",
})
FALLS_RISKS: Mapping[str, str] = MappingProxyType({
    FallsRisk.LOW: "Low", FallsRisk.HIGH: "High",
})
EXERCISE_SETTINGS: Mapping[str, str] = MappingProxyType({
    ExerciseSetting.COMMUNITY: "Community", ExerciseSetting.HOSPITAL: "Hospital",
    ExerciseSetting.HOME: "Home",
})
STRENGTH_BALANCE_NOT_STARTED: Mapping[str, str] = MappingProxyType({
    StrengthBalanceNotStarted.DECLINED: "Declined",
    StrengthBalanceNotStarted.NOT_INDICATED: "Not indicated",
})
RECOMMENDED_TO: Mapping[str, str] = MappingProxyType({
    RecommendedTo.PRIMARY_CARE: "Primary care", RecommendedTo.FLS_CLINIC: "FLS clinic",
    RecommendedTo.SPECIALIST: "Specialist",
})
NOT_RECOMMENDED: Mapping[str, str] = MappingProxyType({
    NotRecommended.NOT_INDICATED: "Not indicated",
    NotRecommended.ALREADY_TREATED: "Already treated",
    NotRecommended.DECLINED: "Declined",
})
COMMUNICATION_KINDS: Mapping[str, str] = MappingProxyType({
    CommunicationKind.PRIMARY_CARE_LETTER: "Letter to primary care",
    CommunicationKind.PATIENT_LETTER: "Letter to the patient",
    CommunicationKind.PATIENT_EDUCATION: "Patient education",
})
CAUSES: Mapping[str, str] = MappingProxyType({
    Cause.OSTEOPOROTIC: "Osteoporotic", Cause.TRAUMATIC: "Traumatic",
    Cause.PATHOLOGIC: "Pathologic", Cause.UNKNOWN: "Unknown",
})
ROLES: Mapping[str, str] = MappingProxyType({
    Role.INTEGRATION: "Integration", Role.COORDINATOR: "Coordinator",
    Role.CLINICIAN: "Clinician", Role.ADMIN: "Administrator",
})

#: Every enum of `pathway.vocabulary` and its labels (the test checks none is missing).
BY_ENUM: Mapping[type[StrEnum], Mapping[str, str]] = MappingProxyType({
    CareState: CARE_STATES, TransitionEvent: TRANSITION_EVENTS, Fact: FACTS,
    MilestoneKind: MILESTONE_KINDS, MilestoneStatus: MILESTONE_STATUSES,
    ReminderKind: REMINDER_KINDS, Priority: PRIORITIES, ReminderStatus: REMINDER_STATUSES,
    RedFlag: RED_FLAGS, NeuroFinding: NEURO_FINDINGS, Symptoms: SYMPTOMS,
    Modality: MODALITIES, ImagingFinding: IMAGING_FINDINGS,
    AugmentationDecision: AUGMENTATION_DECISIONS,
    EarlyAugmentationReason: EARLY_AUGMENTATION_REASONS, SurgeryReason: SURGERY_REASONS,
    CloseReason: CLOSE_REASONS, Agent: AGENTS, DeclineReason: DECLINE_REASONS,
    ContactKind: CONTACT_KINDS, FractureRisk: FRACTURE_RISKS, RiskTool: RISK_TOOLS,
    DxaNotDone: DXA_NOT_DONE, FallsRisk: FALLS_RISKS, ExerciseSetting: EXERCISE_SETTINGS,
    StrengthBalanceNotStarted: STRENGTH_BALANCE_NOT_STARTED, RecommendedTo: RECOMMENDED_TO,
    NotRecommended: NOT_RECOMMENDED, CommunicationKind: COMMUNICATION_KINDS, Cause: CAUSES,
    Role: ROLES,
})

#: Names outside the enums that pages show: the opening event, trigger qualifiers, the field
#: names of event data and of the intake assessment.
OTHER_NAMES: Mapping[str, str] = MappingProxyType({
    OPENED_EVENT: "Episode opened",
    "osteoporosis_agent": "Any osteoporosis agent",
    "intact": "Intact",
    # Fields of event data (`pathway.event_data`).
    "adherent": "Adherent",
    "agent": "Agent",
    "assessed_on": "Assessed on",
    "biopsy_on": "Biopsy on",
    "decision": "Decision",
    "dose": "Dose",
    "falls_risk": "Falls risk",
    "finding": "Finding",
    "findings": "Findings",
    "fracture_risk": "Fracture risk",
    "frax_hip_pct": "FRAX hip fracture %",
    "frax_major_pct": "FRAX major osteoporotic fracture %",
    "kind": "Kind",
    "modality": "Modality",
    "not_done": "Not done",
    "not_recommended": "Not recommended",
    "not_started": "Not started",
    "note": "Note",
    "pain_score": "Pain score",
    "performed_on": "Performed on",
    "reason": "Reason",
    "recommended_on": "Recommended on",
    "red_flags": "Red flags",
    "referred_to_falls_service": "Referred to a falls service",
    "sent_on": "Sent on",
    "setting": "Setting",
    "started_on": "Started on",
    "symptoms": "Symptoms",
    "t_score_femoral_neck": "T-score, femoral neck",
    "t_score_lumbar": "T-score, lumbar spine",
    "t_score_total_hip": "T-score, total hip",
    "text": "Description",
    "to": "Recommended to",
    "tool": "Risk tool",
    # Fields of the intake assessment (`pathway.intake`).
    "identified_on": "Identified on (day 0)",
    "injury_on": "Injury on",
    "levels": "Fracture levels",
    "cause": "Cause",
    "neuro_exam": "Neurological exam",
    "cord_compression": "Cord compression",
    "instability": "Instability",
    "progressive_deformity": "Progressive deformity",
    "initial_imaging": "Initial imaging",
    "coordinator": "Coordinator",
})

#: What a button says to record an event ("Record reassessment", "Start conservative care").
ACTIONS: Mapping[str, str] = MappingProxyType({
    TransitionEvent.START_CONSERVATIVE_CARE: "Start conservative care",
    TransitionEvent.SUSPECT_MALIGNANCY: "Suspect malignancy: start the work-up",
    TransitionEvent.EXCLUDE_MALIGNANCY: "Exclude malignancy",
    TransitionEvent.CONFIRM_MALIGNANCY: "Confirm malignancy: refer to oncology",
    TransitionEvent.RECORD_REASSESSMENT: "Record reassessment",
    TransitionEvent.RECORD_IMAGING: "Record follow-up imaging",
    TransitionEvent.REVIEW_AUGMENTATION: "Record augmentation review",
    TransitionEvent.REFER_EARLY_AUGMENTATION: "Refer for early augmentation",
    TransitionEvent.REFER_SURGERY: "Refer to surgery",
    TransitionEvent.RESOLVE: "Record symptoms resolved",
    TransitionEvent.CLOSE: "Close the episode",
    Fact.RECORD_THERAPY: "Record therapy started",
    Fact.DECLINE_THERAPY: "Record therapy declined or contraindicated",
    Fact.RECORD_NEURO_CHANGE: "Record neurological change",
    Fact.RECORD_SYMPTOM_CHANGE: "Record symptom change",
    Fact.RECORD_CONTACT: "Record follow-up contact",
    Fact.RECORD_FLS_ASSESSMENT: "Record FLS assessment",
    Fact.RECORD_DXA: "Record DXA scan",
    Fact.RECORD_FALLS_ASSESSMENT: "Record falls assessment",
    Fact.RECORD_STRENGTH_BALANCE: "Record strength and balance training",
    Fact.RECOMMEND_THERAPY: "Record therapy recommendation",
    Fact.RECORD_COMMUNICATION: "Record letter or patient education",
})

#: Qualified triggers of the definitions (`pathway.definition`) that read better whole; any
#: other trigger reads as its event with the qualifier in brackets.
TRIGGERS: Mapping[str, str] = MappingProxyType({
    OPENED_EVENT: "opening of the episode",
    "record_therapy:osteoporosis_agent": "Osteoporosis therapy started",
    "record_therapy:calcitonin": "Calcitonin started",
    "record_therapy:denosumab": "Denosumab dose given",
    "record_therapy:calcium_vitamin_d": "Calcium and vitamin D started",
    "record_contact:liaison_monitoring": "Liaison monitoring contact",
    "record_contact:adherence_review": "Adherence review contact",
    "record_dxa:performed_on": "DXA scan done",
    "record_dxa:not_done": "DXA scan not done",
    "record_strength_balance:started_on": "Strength and balance training started",
    "record_strength_balance:not_started": "Strength and balance training not started",
    "recommend_therapy:recommended_on": "Therapy recommended",
    "recommend_therapy:not_recommended": "Therapy not recommended",
})

#: The guards of `pathway.rules.guards` in words: (when it holds, when it does not).
CONDITIONS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "not_surgical_only": ("no neurological deficit, instability or cord compression",
                          "neurological deficit, instability or cord compression"),
    "red_flags_excluded": ("red flags excluded", "red flags not excluded"),
    "symptoms_resolved": ("symptoms resolved", "symptoms not resolved"),
    "malignancy_suspected": ("malignancy suspected", "no malignancy suspected"),
    "decided_refer": ("decided to refer", "not decided to refer"),
    "decided_resolved": ("decided resolved", "not decided resolved"),
    "decided_continue": ("decided to continue", "not decided to continue"),
    "early_augmentation_reason": ("a reason for early augmentation given",
                                  "no reason for early augmentation"),
    "surgery_reason_given": ("a reason for surgery given", "no reason for surgery"),
})


def _merged() -> Mapping[str, str]:
    table: dict[str, str] = {}
    sources = [*BY_ENUM.values(), OTHER_NAMES]
    for labels in sources:
        for name, text in labels.items():
            key = str(name)
            if table.setdefault(key, text) != text:
                raise ValueError(f"{key!r} is labelled both {table[key]!r} and {text!r}")
    return MappingProxyType(table)


#: Every name in the table, whatever enum it belongs to, and its label.
LABELS: Mapping[str, str] = _merged()


def mechanical(name: str) -> str:
    """The fallback for a name not in the table: `site_kind_x` -> `site kind x`."""
    return " ".join(INITIALS.get(word, word) for word in name.split("_"))


def label(name: str | None) -> str:
    """A code name for people: `conservative_care` -> `Conservative care`,
    `record_reassessment` -> `Reassessment`; '' for None; unknown names mechanically."""
    if name is None:
        return ""
    return LABELS.get(name) or mechanical(name)


def known(name: str) -> bool:
    """Whether `name` has an entry of its own in the table (not the fallback)."""
    return name in LABELS


def in_sentence(name: str | None) -> str:
    """A label for the middle of a sentence: `Conservative care` -> `conservative care`,
    while initials keep their capitals (`DXA scan`, `MRI`, `X-ray`)."""
    text = label(name)
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1].isupper() or first[1] == "-"):
        return text  # DXA, FLS, MRI, QFracture, X-ray, T-score
    return text[:1].lower() + text[1:]


def event_label(event: str | None) -> str:
    """An event or fact as it is listed in an episode's history (`Reassessment`)."""
    return label(event)


def action_phrase(event: str) -> str:
    """What a button says to record `event`: `record_reassessment` -> `Record reassessment`,
    `start_conservative_care` -> `Start conservative care`."""
    return ACTIONS.get(event) or f"Record {in_sentence(event)}"


def condition(guard: str) -> str:
    """A guard name (`name`, or `!name` for its negation) in words: `red_flags_excluded` ->
    `red flags excluded`, `!symptoms_resolved` -> `symptoms not resolved`."""
    negated = guard.startswith("!")
    words = CONDITIONS.get(guard.lstrip("!"))
    if words is None:
        return ("not " if negated else "") + mechanical(guard.lstrip("!"))
    return words[1] if negated else words[0]


def trigger(value: str) -> str:
    """A definition's trigger (`pathway.definition`) for people: `record_therapy:calcitonin` ->
    `Calcitonin started`, `open_episode` -> `opening of the episode`, `enter:imaged` ->
    `entering imaged`, `record_therapy:teriparatide` -> `Therapy started (teriparatide)`."""
    if value in TRIGGERS:
        return TRIGGERS[value]
    name, _, qualifier = value.partition(":")
    if name == "enter":
        return f"entering {in_sentence(qualifier)}"
    return f"{label(name)} ({in_sentence(qualifier)})" if qualifier else label(name)


def transition_phrase(event: str, source: str | None, target: str | None) -> str:
    """An event that was recorded, for a message: `Reassessment: conservative care ->
    reassessed` (`Therapy started` alone when the track did not move)."""
    text = event_label(event)
    if source and target and source != target:
        return f"{text}: {in_sentence(source)} → {in_sentence(target)}"
    return text
