"""Episodes and their event log: open, list, read, send events, export to FHIR."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.audit import audit
from api.auth import Caller, check, require
from api.fhir import FHIR_JSON, FhirResponse, episode_bundle
from api.idempotency import Idempotency, idempotent
from api.openapi import problems
from api.render import episode_out, etag, event_out, opaque, summary, unwrap
from api.schemas import (
    BoundedDate,
    EpisodeId,
    EpisodeOut,
    EpisodePage,
    EventApplied,
    EventIn,
    EventLog,
    EventOut,
    Name,
    SeqNo,
)
from api.strict import StrictRoute
from api.units import Unit, UnitDep
from pathway.clock import day_start
from pathway.episodes import apply_event, get_episode, history, load_snapshot, open_episode
from pathway.errors import InvalidData, NotFound
from pathway.intake import IntakeAssessment
from pathway.permissions import Action, action_for_event
from pathway.store.worklist import Cursor, EpisodeFilter, list_episodes
from pathway.vocabulary import CareState

router = APIRouter(prefix="/v1", tags=["episodes"], route_class=StrictRoute)
log = logging.getLogger("pathway.api")

Reader = Annotated[Caller, Depends(require(Action.READ))]
#: POSTs: the caller comes with the request's idempotency (`idem.caller`).
Opening = Annotated[Idempotency, Depends(idempotent(Action.OPEN_EPISODE))]
#: Anyone who may record something; which events is checked per event (`may_record`).
Sending = Annotated[Idempotency, Depends(idempotent(Action.RECORD_LIAISON))]
MAX_ID = 2**31 - 1


def _location(episode_id: int) -> str:
    return f"/v1/episodes/{episode_id}"


@router.post("/episodes", status_code=201, response_model=EpisodeOut,
             responses=problems(409), summary="Open an episode from an intake assessment")
def open_(intake: IntakeAssessment, unit: UnitDep, idem: Opening) -> Response:
    """Opens an episode in `assessed`; whatever is already overdue is raised at once.

    A known MRN must come with the name and birth date stored for it (either may be left
    out; case and spacing of the name do not matter): a difference is refused with 409
    `identity-mismatch`, naming the `fields`. The same fracture again (same patient, same
    `identified_on`, a shared level, that episode not closed) is refused with 409
    `duplicate-episode`, naming `existing_episode` and the shared `levels`. A later
    fracture of the same patient is a new episode of the same patient."""
    caller = idem.caller
    episode = open_episode(unit.session, intake=intake, actor=caller.actor, now=unit.now,
                           zone=unit.zone)
    log.info("episode %s opened by %s", episode.id, caller.actor)
    return idem.reply(episode_out(episode, unit),
                      status=201,
                      headers={"Location": _location(episode.id), "ETag": etag(episode)})


def _cursor(text: str | None) -> Cursor | None:
    if text is None:
        return None
    try:
        cursor = Cursor.decode(unwrap(text))
        at = cursor.overdue_at.astimezone(dt.UTC) if cursor.overdue_at else None
    except (ValueError, OverflowError) as exc:
        raise InvalidData("cursor", "not a cursor from a previous page") from exc
    if not 0 < cursor.episode_id <= MAX_ID or (at and not 1900 <= at.year <= 2999):
        raise InvalidData("cursor", "not a cursor from a previous page")
    return cursor


@router.get("/episodes", response_model=EpisodePage, summary="List episodes, most overdue first")
def list_(
    request: Request, unit: UnitDep, caller: Reader,
    state: CareState | None = None,
    overdue: Annotated[bool | None, Query(
        description="true: only episodes with a milestone overdue now")] = None,
    coordinator: Annotated[Name | None, Query()] = None,
    mrn: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    due_before: Annotated[BoundedDate | None, Query(
        description="Only episodes whose next milestone falls overdue before this day")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EpisodePage:
    """Filter by state, overdue, coordinator, MRN or due date; page with `cursor`."""
    where = EpisodeFilter(
        state=state.value if state else None,
        overdue_at=unit.now if overdue else None,
        coordinator=coordinator, mrn=mrn,
        due_before=day_start(due_before, unit.zone) if due_before else None,
    )
    rows, nxt = list_episodes(unit.session, where=where, limit=limit, after=_cursor(cursor))
    audit(unit, request, caller, "episode_list", detail={
        "filter": {k: v for k, v in (("state", where.state), ("overdue", overdue),
                                     ("coordinator", coordinator), ("mrn", mrn),
                                     ("due_before", due_before and due_before.isoformat()))
                   if v is not None},
        "episodes": [e.id for e in rows]})
    return EpisodePage(items=[summary(e, unit) for e in rows],
                       next_cursor=opaque(nxt.encode()) if nxt else None)


@router.get("/episodes/{episode_id}", response_model=EpisodeOut, responses=problems(404),
            summary="One episode with what it accepts now and its open work")
def read(episode_id: EpisodeId, request: Request, unit: UnitDep, caller: Reader,
         response: Response) -> EpisodeOut:
    """The episode's state, pathway version, allowed events, open milestones and reminders;
    the `ETag` is its version, for `If-Match` on the next event."""
    episode = load_snapshot(unit.session, episode_id)
    audit(unit, request, caller, "episode", patient_id=episode.patient_id,
          episode_id=episode_id)
    response.headers["ETag"] = etag(episode)
    return episode_out(episode, unit)


def _patient_of(unit: Unit, episode_id: int) -> int:
    """The episode's patient (the episode is in the session's identity map already)."""
    return get_episode(unit.session, episode_id).patient_id


def _expected_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions If-Match asks for (strong comparison), or None for no condition."""
    if if_match is None:
        return None
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return None
    return frozenset(int(t[1:-1]) for t in tags
                     if len(t) > 2 and t[0] == t[-1] == '"' and t[1:-1].isdigit() and len(t) < 14)


@router.post("/episodes/{episode_id}/events", status_code=201, response_model=EventApplied,
             responses=problems(404, 409, 412),
             summary="Record an event or fact of the pathway")
def send(
    episode_id: EpisodeId, body: EventIn, unit: UnitDep, idem: Sending,
    if_match: Annotated[str | None, Header(
        alias="If-Match", max_length=200,
        description="The episode's ETag; a stale one gets 412")] = None,
) -> Response:
    """A refused transition gets 409 naming the state and the allowed events; invalid data
    gets 422 naming the field. The fracture-care events and clinical findings need the role
    to `record_event`; the liaison and bone-health facts (contacts, therapy, the fracture
    liaison data set) `record_liaison`, which coordinators have too (403 otherwise)."""
    caller = idem.caller
    check(caller, action_for_event(body.event), f"record {body.event}")
    expected = _expected_versions(if_match)
    applied = apply_event(
        unit.session, episode_id=episode_id, event=body.event, data=body.data,
        actor=caller.actor, now=unit.now, zone=unit.zone, occurred_on=body.occurred_on,
        expected_version=expected)
    log.info("episode %s: %s (%s -> %s) by %s", episode_id, body.event, applied.source,
             applied.target, caller.actor)
    result = EventApplied(event=event_out(applied.record),
                          episode=episode_out(applied.episode, unit))
    return idem.reply(result, status=201, headers={
        "Location": f"{_location(episode_id)}/events/{applied.record.seq}",
        "ETag": etag(applied.episode)})


@router.get("/episodes/{episode_id}/events", response_model=EventLog, responses=problems(404),
            summary="The append-only event log")
def events(episode_id: EpisodeId, request: Request, unit: UnitDep,
           caller: Reader) -> EventLog:
    """Every opening, transition and fact, oldest first, with its actor."""
    log_ = EventLog(episode_id=episode_id,
                    items=[event_out(r) for r in history(unit.session, episode_id)])
    audit(unit, request, caller, "events", patient_id=_patient_of(unit, episode_id),
          episode_id=episode_id)
    return log_


@router.get("/episodes/{episode_id}/events/{seq}", response_model=EventOut,
            responses=problems(404), summary="One event of the log")
def event(episode_id: EpisodeId, seq: SeqNo, request: Request, unit: UnitDep,
          caller: Reader) -> EventOut:
    """The event with sequence number `seq` (1 is the opening)."""
    records = history(unit.session, episode_id)
    if not 0 < seq <= len(records):
        raise NotFound("event", f"{episode_id}/{seq}")
    audit(unit, request, caller, "event", patient_id=_patient_of(unit, episode_id),
          episode_id=episode_id, detail={"seq": seq})
    return event_out(records[seq - 1])


@router.get("/episodes/{episode_id}/fhir", responses={
    200: {"description": "A FHIR R4 Bundle (collection)",
          "content": {FHIR_JSON: {"schema": {"type": "object"}}}}, **problems(404)},
    response_class=FhirResponse, summary="The episode as a FHIR R4 Bundle")
def fhir(episode_id: EpisodeId, request: Request, unit: UnitDep, caller: Reader) -> Response:
    """Patient, Condition, CarePlan, one Task per milestone, MedicationStatement per therapy."""
    episode = get_episode(unit.session, episode_id)
    bundle = episode_bundle(unit.session, episode, now=unit.now)
    audit(unit, request, caller, "fhir", patient_id=episode.patient_id, episode_id=episode_id)
    return FhirResponse(bundle)
