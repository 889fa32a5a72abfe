"""Administration over the API: webhook subscriptions and dead-letter deliveries."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import Caller, require
from api.idempotency import Idempotency, idempotent
from api.openapi import problems
from api.schemas import (
    MAX_ID,
    DeliveryList,
    DeliveryOut,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
)
from api.strict import StrictRoute
from api.units import UnitDep
from pathway import deliveries, webhooks
from pathway.permissions import Action

router = APIRouter(prefix="/v1", tags=["administration"], route_class=StrictRoute)
log = logging.getLogger("pathway.api")
Admin = Annotated[Caller, Depends(require(Action.MANAGE_WEBHOOKS))]
Outbox = Annotated[Caller, Depends(require(Action.RETRY_DELIVERY))]
#: POSTs: the caller comes with the request's idempotency (`idem.caller`).
Subscribing = Annotated[Idempotency, Depends(idempotent(Action.MANAGE_WEBHOOKS))]
Retrying = Annotated[Idempotency, Depends(idempotent(Action.RETRY_DELIVERY))]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The subscription's id")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The delivery's id")]


@router.post("/webhooks", status_code=201, response_model=WebhookCreated,
             responses=problems(409), summary="Subscribe a URL to reminders or events")
def subscribe(body: WebhookIn, unit: UnitDep, idem: Subscribing) -> Response:
    """Deliveries are signed (Standard Webhooks headers) with the secret, which is returned
    here only."""
    caller = idem.caller
    row = webhooks.create_subscription(
        unit.session, url=body.url, reminder_kinds=body.reminder_kinds,
        event_names=body.event_names, secret=body.secret, actor=caller.actor, now=unit.now)
    log.info("webhook subscription %s created by %s", row.id, caller.actor)
    return idem.reply(WebhookCreated.model_validate(row), status=201,
                      headers={"Location": f"/v1/webhooks/{row.id}"})


@router.get("/webhooks", response_model=WebhookList, summary="Active webhook subscriptions")
def subscriptions(unit: UnitDep, caller: Admin) -> WebhookList:
    """Secrets are never shown again."""
    return WebhookList(items=[WebhookOut.model_validate(s)
                              for s in webhooks.list_subscriptions(unit.session)])


@router.get("/webhooks/{subscription_id}", response_model=WebhookOut, responses=problems(404),
            summary="One webhook subscription")
def subscription(subscription_id: SubscriptionId, unit: UnitDep, caller: Admin) -> WebhookOut:
    """An active subscription (without its secret)."""
    return WebhookOut.model_validate(webhooks.get_subscription(unit.session, subscription_id))


@router.delete("/webhooks/{subscription_id}", status_code=204, responses=problems(404),
               response_class=Response, summary="Unsubscribe")
def unsubscribe(subscription_id: SubscriptionId, unit: UnitDep, caller: Admin) -> Response:
    """Nothing more is queued for it; its past deliveries stay on record."""
    webhooks.delete_subscription(unit.session, subscription_id=subscription_id,
                                 actor=caller.actor, now=unit.now)
    log.info("webhook subscription %s deleted by %s", subscription_id, caller.actor)
    return Response(status_code=204)


@router.get("/deliveries", response_model=DeliveryList, summary="Outbox rows (dead letters)")
def list_deliveries(
    unit: UnitDep, caller: Outbox,
    status: Literal["pending", "delivered", "dead", "skipped"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    """Newest first; `status=dead` lists the dead letters, `status=skipped` the messages never
    sent because their reminder was resolved first (final: they cannot be retried)."""
    rows = deliveries.list_deliveries(unit.session, status=status, limit=limit)
    return DeliveryList(items=[DeliveryOut.model_validate(r) for r in rows])


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut,
             responses=problems(404, 409), summary="Send a dead letter again")
def retry(delivery_id: DeliveryId, unit: UnitDep, idem: Retrying) -> Response:
    """It goes back to pending with a fresh allowance of attempts; a delivered one gets 409."""
    caller = idem.caller
    row = deliveries.retry_delivery(unit.session, delivery_id=delivery_id, actor=caller.actor,
                                    now=unit.now)
    log.info("delivery %s retried by %s", delivery_id, caller.actor)
    return idem.reply(DeliveryOut.model_validate(row))
