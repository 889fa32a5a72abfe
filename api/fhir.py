"""An episode as a FHIR R4 Bundle (type `collection`).

- Patient: the MRN as identifier, name and birth date when known;
- Condition: the vertebral compression fracture (levels as body sites), active, resolved or
  inactive with the fracture-care state;
- CarePlan: the pathway episode, addressing the Condition, with one activity per Task;
- Task: one per milestone, `restriction.period.end` = its due date, the overdue date in the
  `urn:pathway:fhir:overdue-on` extension, status mapped from the milestone
  (open -> requested with businessStatus scheduled / due / overdue, met -> completed,
  declined / contraindicated / void -> cancelled with the reason);
- MedicationStatement: one per recorded therapy (ATC-coded), and `not-taken` for a declined
  or contraindicated osteoporosis therapy.

Resources reference each other by deterministic `urn:uuid:` full URLs, so exporting the same
episode twice gives the same identities.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from pathway.milestones import all_milestones
from pathway.rules.snapshot import MilestoneSnapshot
from pathway.store.exports import close_data, declined_therapies, therapies
from pathway.store.models import Episode, EventRecord, TherapyRecord
from pathway.store.versions import load_definition
from pathway.vocabulary import (
    Agent,
    CareState,
    CloseReason,
    MilestoneKind,
    MilestoneStatus,
)

FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    """JSON with the FHIR media type."""

    media_type = FHIR_JSON
_NS = uuid.UUID("5d3c4a52-7c1e-4a53-9a8e-2f4f8c6b1e10")
MRN_SYSTEM = "urn:pathway:mrn"
EPISODE_SYSTEM = "urn:pathway:episode"
MILESTONE_SYSTEM = "urn:pathway:milestone"
CONDITION_SYSTEM = "urn:pathway:condition"
OVERDUE_ON_URL = "urn:pathway:fhir:overdue-on"
CARE_STATE_URL = "urn:pathway:fhir:care-state"
ATC = "http://www.whocc.no/atc"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

ATC_CODES: dict[str, tuple[str, str]] = {
    Agent.ALENDRONATE: ("M05BA04", "alendronic acid"),
    Agent.RISEDRONATE: ("M05BA07", "risedronic acid"),
    Agent.IBANDRONATE: ("M05BA06", "ibandronic acid"),
    Agent.ZOLEDRONIC_ACID: ("M05BA08", "zoledronic acid"),
    Agent.DENOSUMAB: ("M05BX04", "denosumab"),
    Agent.TERIPARATIDE: ("H05AA02", "teriparatide"),
    Agent.STRONTIUM_RANELATE: ("M05BX03", "strontium ranelate"),
    Agent.CALCITONIN: ("H05BA01", "calcitonin (salmon synthetic)"),
    Agent.CALCIUM_VITAMIN_D: ("A12AX", "calcium, combinations with vitamin D"),
}
CANCEL_REASONS = {
    MilestoneStatus.DECLINED: "declined by the patient",
    MilestoneStatus.CONTRAINDICATED: "contraindicated",
    MilestoneStatus.VOID: "no longer applies",
}
CALCITONIN_COURSE_DAYS = 28


def _url(kind: str, ident: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}/{ident}')}"


def _ref(url: str) -> dict[str, str]:
    return {"reference": url}


def _close_reason(session: Session, episode: Episode) -> str | None:
    if episode.state != CareState.CLOSED:
        return None
    data = close_data(session, episode.id)
    return str((data or {}).get("reason")) if data else None


def _patient(episode: Episode) -> dict[str, Any]:
    patient = episode.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": f"pathway-patient-{patient.id}",
        "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": patient.mrn}],
    }
    if patient.name:
        resource["name"] = [{"text": patient.name}]
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    return resource


def _condition(episode: Episode, urls: dict[str, str], in_error: bool) -> dict[str, Any]:
    clinical = {CareState.RESOLVED.value: "resolved", CareState.CLOSED.value: "inactive"}
    resource: dict[str, Any] = {
        "resourceType": "Condition", "id": f"pathway-condition-{episode.id}",
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code":
                                           "entered-in-error" if in_error else "confirmed"}]},
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": CONDITION_SYSTEM, "code": "vertebral-compression-fracture",
                             "display": "Vertebral compression fracture"}],
                 "text": "Vertebral compression fracture"},
        "bodySite": [{"text": f"vertebra {level}"} for level in episode.levels],
        "subject": _ref(urls["patient"]),
        "onsetDateTime": str(episode.intake.get("injury_on") or episode.identified_on),
        "recordedDate": episode.identified_on.isoformat(),
        "note": [{"text": f"cause: {episode.intake.get('cause', 'unknown')}"}],
    }
    if not in_error:
        resource["clinicalStatus"] = {"coding": [{
            "system": CLINICAL, "code": clinical.get(episode.state, "active")}]}
    return resource


def _care_plan(episode: Episode, urls: dict[str, str], tasks: list[str],
               in_error: bool) -> dict[str, Any]:
    status = "active"
    if episode.state == CareState.CLOSED:
        status = "entered-in-error" if in_error else "completed"
    period = {"start": episode.identified_on.isoformat()}
    if episode.closed_at:
        period["end"] = episode.closed_at.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "CarePlan", "id": f"pathway-careplan-{episode.id}",
        "extension": [{"url": CARE_STATE_URL, "valueCode": episode.state}],
        "identifier": [{"system": EPISODE_SYSTEM, "value": str(episode.id)}],
        "status": status, "intent": "plan",
        "title": "Vertebral compression fracture pathway",
        "description": f"Pathway version {episode.pathway_version}; fracture-care state "
                       f"{episode.state}",
        "subject": _ref(urls["patient"]), "period": period,
        "created": episode.opened_at.isoformat(),
        "addresses": [_ref(urls["condition"])],
    }
    if tasks:
        resource["activity"] = [{"reference": _ref(url)} for url in tasks]
    return resource


def _task(m: MilestoneSnapshot, rule: str, urls: dict[str, str],
          now: dt.datetime) -> dict[str, Any]:
    status = MilestoneStatus(m.status)
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": f"pathway-milestone-{m.id}",
        "extension": [{"url": OVERDUE_ON_URL, "valueDate": m.overdue_on.isoformat()}],
        "basedOn": [_ref(urls["careplan"])], "intent": "plan",
        "code": {"coding": [{"system": MILESTONE_SYSTEM, "code": m.kind}], "text": m.kind},
        "description": rule, "focus": _ref(urls["condition"]), "for": _ref(urls["patient"]),
        "authoredOn": m.created_at.isoformat(),
        "lastModified": (m.closed_at or m.created_at).isoformat(),
        "restriction": {"period": {"end": m.due_on.isoformat()}},
    }
    if status == MilestoneStatus.OPEN:
        stage = ("overdue" if m.overdue_at <= now else "due" if m.due_at <= now
                 else "scheduled")
        resource.update(status="requested", businessStatus={"text": stage})
    elif status == MilestoneStatus.MET:
        resource.update(status="completed", businessStatus={"text": "met"})
        if m.met_on:
            resource["executionPeriod"] = {"end": m.met_on.isoformat()}
    else:
        resource.update(status="cancelled", statusReason={"text": CANCEL_REASONS[status]},
                        businessStatus={"text": status.value})
    return resource


def _therapy(t: TherapyRecord, urls: dict[str, str], today: dt.date) -> dict[str, Any]:
    code, display = ATC_CODES[t.agent]
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement", "id": f"pathway-therapy-{t.id}",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": code,
                                                  "display": display}], "text": t.agent},
        "subject": _ref(urls["patient"]),
        "effectiveDateTime": t.started_on.isoformat(),
        "reasonReference": [_ref(urls["condition"])],
    }
    if t.agent == Agent.CALCITONIN:
        end = t.started_on + dt.timedelta(days=CALCITONIN_COURSE_DAYS)
        del resource["effectiveDateTime"]
        resource["effectivePeriod"] = {"start": t.started_on.isoformat(), "end": end.isoformat()}
        resource["status"] = "completed" if end < today else "active"
    if t.dose:
        resource["dosage"] = [{"text": t.dose}]
    return resource


def _declined(record: EventRecord, urls: dict[str, str]) -> dict[str, Any]:
    reason = str(record.data.get("reason", "declined"))
    return {
        "resourceType": "MedicationStatement", "id": f"pathway-declined-{record.id}",
        "status": "not-taken", "statusReason": [{"text": reason}],
        "medicationCodeableConcept": {"text": "osteoporosis drug therapy"},
        "subject": _ref(urls["patient"]), "effectiveDateTime": record.occurred_on.isoformat(),
        "reasonReference": [_ref(urls["condition"])],
    }


def episode_bundle(session: Session, episode: Episode, *, now: dt.datetime) -> dict[str, Any]:
    """The episode and its milestones and therapies as a FHIR R4 collection Bundle."""
    urls = {"patient": _url("patient", episode.patient_id),
            "condition": _url("condition", episode.id),
            "careplan": _url("careplan", episode.id)}
    in_error = _close_reason(session, episode) == CloseReason.ENTERED_IN_ERROR.value
    definition = load_definition(session, episode.pathway_version)
    milestones = all_milestones(session, episode.id)
    task_urls = [_url("milestone", m.id) for m in milestones]
    recorded = therapies(session, episode.id)
    declines = declined_therapies(session, episode.id)
    entries: list[tuple[str, dict[str, Any]]] = [
        (urls["patient"], _patient(episode)),
        (urls["condition"], _condition(episode, urls, in_error)),
        (urls["careplan"], _care_plan(episode, urls, task_urls, in_error)),
    ]
    entries += [(url, _task(m, definition.milestone(MilestoneKind(m.kind)).rule, urls, now))
                for url, m in zip(task_urls, milestones, strict=True)]
    entries += [(_url("therapy", t.id), _therapy(t, urls, now.date())) for t in recorded]
    entries += [(_url("declined", r.id), _declined(r, urls)) for r in declines]
    return {
        "resourceType": "Bundle", "id": f"pathway-episode-{episode.id}-v{episode.version}",
        "meta": {"lastUpdated": episode.updated_at.isoformat()},
        "type": "collection", "timestamp": now.isoformat(),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }
