"""Reminders: list, read with history, acknowledge, snooze, assign."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Caller, require
from api.idempotency import Idempotency, idempotent
from api.openapi import problems
from api.render import opaque, reminder_detail, unwrap
from api.schemas import (
    MAX_ID,
    AcknowledgeIn,
    AssignIn,
    Name,
    ReminderDetail,
    ReminderId,
    ReminderOut,
    ReminderPage,
    SnoozeIn,
)
from api.strict import StrictRoute
from api.units import Unit, UnitDep
from pathway import reminder_actions
from pathway.errors import InvalidData
from pathway.permissions import Action
from pathway.reminder_actions import ReminderCursor, ReminderFilter
from pathway.vocabulary import Priority, ReminderKind, ReminderStatus

router = APIRouter(prefix="/v1/reminders", tags=["reminders"], route_class=StrictRoute)
log = logging.getLogger("pathway.api")

Reader = Annotated[Caller, Depends(require(Action.READ_REMINDERS))]
#: POSTs: the caller comes with the request's idempotency (`idem.caller`).
Acting = Annotated[Idempotency, Depends(idempotent(Action.ACT_ON_REMINDER))]
Assigning = Annotated[Idempotency, Depends(idempotent(Action.ASSIGN_REMINDER))]


def _cursor(text: str | None) -> ReminderCursor | None:
    if text is None:
        return None
    try:
        return ReminderCursor.decode(unwrap(text))
    except ValueError as exc:
        raise InvalidData("cursor", "not a cursor from a previous page") from exc


@router.get("", response_model=ReminderPage, summary="List reminders, most pressing first")
def list_(
    unit: UnitDep, caller: Reader,
    status: ReminderStatus | None = None,
    kind: ReminderKind | None = None,
    episode: Annotated[int | None, Query(ge=1, le=MAX_ID, description="An episode id")] = None,
    coordinator: Annotated[Name | None, Query()] = None,
    priority: Priority | None = None,
    assigned_to: Annotated[Name | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReminderPage:
    """Stat first, then urgent, then routine; within each the oldest due first."""
    where = ReminderFilter(
        status=status.value if status else None, kind=kind.value if kind else None,
        episode_id=episode, coordinator=coordinator,
        priority=priority.value if priority else None, assigned_to=assigned_to)
    rows, nxt = reminder_actions.list_reminders(unit.session, where=where, limit=limit,
                                                after=_cursor(cursor))
    return ReminderPage(items=[ReminderOut.model_validate(r) for r in rows],
                        next_cursor=opaque(nxt.encode()) if nxt else None)


@router.get("/{reminder_id}", response_model=ReminderDetail, responses=problems(404),
            summary="One reminder with its history")
def read(reminder_id: ReminderId, unit: UnitDep, caller: Reader) -> ReminderDetail:
    """The reminder, the rule and seeds it comes from, and every step of its history."""
    reminder = reminder_actions.get_reminder(unit.session, reminder_id)
    return reminder_detail(reminder, reminder_actions.reminder_history(unit.session,
                                                                       reminder_id))


def _done(reminder_id: int, unit: Unit, idem: Idempotency, action: str) -> Response:
    log.info("reminder %s %s by %s", reminder_id, action, idem.caller.actor)
    reminder = reminder_actions.get_reminder(unit.session, reminder_id)
    history = reminder_actions.reminder_history(unit.session, reminder_id)
    return idem.reply(reminder_detail(reminder, history))


@router.post("/{reminder_id}/acknowledge", response_model=ReminderDetail,
             responses=problems(404, 409), summary="Acknowledge a reminder")
def acknowledge(reminder_id: ReminderId, body: AcknowledgeIn, unit: UnitDep,
                idem: Acting) -> Response:
    """It stops escalating; a resolved reminder cannot be acknowledged (409)."""
    reminder_actions.acknowledge(unit.session, reminder_id=reminder_id,
                                 actor=idem.caller.actor, now=unit.now, note=body.note)
    return _done(reminder_id, unit, idem, "acknowledged")


@router.post("/{reminder_id}/snooze", response_model=ReminderDetail,
             responses=problems(404, 409), summary="Snooze a reminder until a day")
def snooze(reminder_id: ReminderId, body: SnoozeIn, unit: UnitDep, idem: Acting) -> Response:
    """Wakes at the start of `until` in the site's zone; a reason is required."""
    reminder_actions.snooze(unit.session, reminder_id=reminder_id, until=body.until,
                            reason=body.reason, actor=idem.caller.actor, now=unit.now,
                            zone=unit.zone)
    return _done(reminder_id, unit, idem, "snoozed")


@router.post("/{reminder_id}/assign", response_model=ReminderDetail,
             responses=problems(404, 409), summary="Assign a reminder to someone")
def assign(reminder_id: ReminderId, body: AssignIn, unit: UnitDep,
           idem: Assigning) -> Response:
    """Assign to an active user whose role may act on reminders (422 naming `assignee`
    otherwise)."""
    reminder_actions.assign(unit.session, reminder_id=reminder_id, assignee=body.assignee,
                            actor=idem.caller.actor, now=unit.now)
    return _done(reminder_id, unit, idem, "assigned")


@router.post("/{reminder_id}/unassign", response_model=ReminderDetail,
             responses=problems(404, 409), summary="Take a reminder's assignment away")
def unassign(reminder_id: ReminderId, unit: UnitDep, idem: Assigning) -> Response:
    """Nobody in particular has it afterwards; the history keeps who had it."""
    reminder_actions.unassign(unit.session, reminder_id=reminder_id, actor=idem.caller.actor,
                              now=unit.now)
    return _done(reminder_id, unit, idem, "unassigned")
