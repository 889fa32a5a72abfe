"""The yardstick of workload 3: `POST /v1/episodes/{id}/events` as a minimal FastAPI route that
sends the statements the pathway route sends for the benchmark's four events, with no pathway
code: no validation models, no state machine, no milestone rules, no ORM.

Per request, one transaction: look up the API key; read the episode (with its patient, as the
route does); claim the next version; append the event; look up webhook subscriptions; read the
episode's milestones; close the one the event meets and look for its open reminders; record the
imaging or therapy row where the event has one; open the next milestone; update the episode's
next-overdue columns; then read the open milestones and reminders for the response.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import Engine, bindparam, insert, select, update

from pathway.store.models import (
    ApiKey,
    Episode,
    EventRecord,
    ImagingRecord,
    Milestone,
    Patient,
    Reminder,
    TherapyRecord,
    WebhookSubscription,
)
from pathway.store.tables import table_of as cast_table

E, M, R = cast_table(Episode), cast_table(Milestone), cast_table(Reminder)
OPEN = ("open", "snoozed", "acknowledged")

# event -> (target state, milestone it meets, milestone it opens: (kind, due, overdue, alert))
EFFECTS: dict[str, tuple[str | None, str, tuple[str, int, int, str]]] = {
    "start_conservative_care": (
        "conservative_care", "plan_decision", ("reassessment", 28, 42, "reassessment_due")),
    "record_reassessment": (
        "reassessed", "reassessment", ("followup_imaging", 56, 63, "imaging_overdue")),
    "record_imaging": (
        "imaged", "followup_imaging",
        ("augmentation_review", 90, 104, "augmentation_review_overdue")),
    "record_therapy": (
        None, "osteoporosis_therapy", ("adherence_review", 364, 392, "adherence_review_overdue")),
}

KEY = select(cast_table(ApiKey)).where(ApiKey.key_hash == bindparam("h"),
                                       ApiKey.revoked_at.is_(None))
EPISODE = (select(E, cast_table(Patient).c.mrn).join(cast_table(Patient))
           .where(E.c.id == bindparam("id")))
CLAIM = (update(E).where(E.c.id == bindparam("eid"), E.c.version == bindparam("old"))
         .values(state=bindparam("st"), version=bindparam("new"), updated_at=bindparam("now")))
EVENT = insert(cast_table(EventRecord)).returning(cast_table(EventRecord).c.id)
SUBSCRIPTIONS = select(cast_table(WebhookSubscription)).where(WebhookSubscription.active.is_(True))
MILESTONES = select(M).where(M.c.episode_id == bindparam("id")).order_by(M.c.id)
CLOSE = (update(M).where(M.c.id == bindparam("mid"))
         .values(status="met", met_on=bindparam("on"), closed_at=bindparam("now"),
                 next_alert_at=None, next_alert_kind=None))
OPEN_REMINDERS_OF = select(R).where(R.c.milestone_id == bindparam("mid"), R.c.status.in_(OPEN))
IMAGING = insert(cast_table(ImagingRecord))
THERAPY = insert(cast_table(TherapyRecord))
OPEN_MILESTONE = insert(M).returning(M.c.id)
SUMMARY = (update(E).where(E.c.id == bindparam("eid"))
           .values(next_overdue_at=bindparam("at"), next_milestone=bindparam("kind")))
OPEN_MILESTONES = (select(M).where(M.c.episode_id == bindparam("id"), M.c.status == "open")
                   .order_by(M.c.overdue_at, M.c.id))
OPEN_REMINDERS = (select(R).where(R.c.episode_id == bindparam("id"), R.c.status.in_(OPEN))
                  .order_by(R.c.due_on, R.c.id))


class EventIn(BaseModel):
    event: str
    data: dict[str, Any] = {}
    occurred_on: dt.date | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def create_bare_app(engine: Engine, clock: Any) -> FastAPI:
    """The minimal app: one route, the same statements, Core only."""
    app = FastAPI()

    @app.post("/v1/episodes/{episode_id}/events", status_code=201)
    def send(episode_id: int, body: EventIn,
             authorization: str = Header(default="")) -> dict[str, Any]:
        now = clock()
        on = body.occurred_on or now.date()
        target, meets, (kind, due, overdue, alert) = EFFECTS[body.event]
        with engine.begin() as conn:
            token = authorization.removeprefix("Bearer ")
            if conn.execute(KEY, {"h": hashlib.sha256(token.encode()).hexdigest()}).first() is None:
                raise HTTPException(401)
            episode = conn.execute(EPISODE, {"id": episode_id}).one()
            state = target or episode.state
            claimed = conn.execute(CLAIM, {"eid": episode_id, "old": episode.version,
                                           "new": episode.version + 1, "st": state, "now": now})
            if claimed.rowcount != 1:
                raise HTTPException(409)
            event_id = conn.execute(EVENT, {
                "episode_id": episode_id, "seq": episode.version + 1, "name": body.event,
                "occurred_on": on, "recorded_at": now, "actor": "key:bench",
                "source_state": episode.state, "target_state": state,
                "data": body.data}).scalar_one()
            conn.execute(SUBSCRIPTIONS).all()
            milestones = conn.execute(MILESTONES, {"id": episode_id}).all()
            met = [m for m in milestones if m.kind == meets and m.status == "open"]
            for m in met:
                conn.execute(CLOSE, {"mid": m.id, "on": on, "now": now})
                conn.execute(OPEN_REMINDERS_OF, {"mid": m.id}).all()
            if body.event == "record_imaging":
                conn.execute(IMAGING, {"episode_id": episode_id, "modality": "mri",
                                       "performed_on": on, "finding": "stable",
                                       "event_id": event_id})
            if body.event == "record_therapy":
                conn.execute(THERAPY, {"episode_id": episode_id, "agent": "alendronate",
                                       "started_on": on, "dose": None, "event_id": event_id})
            day0 = episode.identified_on
            due_on, overdue_on = day0 + dt.timedelta(days=due), day0 + dt.timedelta(days=overdue)
            conn.execute(OPEN_MILESTONE, {
                "episode_id": episode_id, "kind": kind, "status": "open", "anchor_on": day0,
                "due_on": due_on, "overdue_on": overdue_on, "due_at": _day_start(due_on),
                "overdue_at": _day_start(overdue_on), "next_alert_at": _day_start(due_on),
                "next_alert_kind": alert, "created_at": now})
            still_open = [m for m in milestones if m.status == "open" and m not in met]
            soonest = min(still_open, key=lambda m: m.overdue_at, default=None)
            if soonest is not None:
                conn.execute(SUMMARY, {"eid": episode_id, "at": soonest.overdue_at,
                                       "kind": soonest.kind})
            open_now = conn.execute(OPEN_MILESTONES, {"id": episode_id}).all()
            reminders = conn.execute(OPEN_REMINDERS, {"id": episode_id}).all()
        return {
            "event": {"id": event_id, "seq": episode.version + 1, "name": body.event},
            "episode": {"id": episode_id, "state": state, "version": episode.version + 1,
                        "mrn": episode.mrn,
                        "milestones": [{"kind": m.kind, "due_on": m.due_on.isoformat()}
                                       for m in open_now],
                        "reminders": [{"kind": r.kind, "due_on": r.due_on.isoformat()}
                                      for r in reminders]},
        }

    return app
