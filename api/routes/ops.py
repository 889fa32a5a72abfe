"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Caller, require
from api.metrics import CONTENT_TYPE, MetricsResponse, RequestCounter, render
from api.schemas import Status
from api.strict import StrictRoute
from api.units import UnitDep
from pathway.permissions import Action
from pathway.store.health import ping

router = APIRouter(tags=["operations"], route_class=StrictRoute)
Anyone = Annotated[Caller, Depends(require(Action.READ))]


@router.get("/healthz", response_model=Status, summary="Liveness (no authentication)")
def healthz() -> Status:
    """The process answers; says nothing about the database."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, summary="Readiness: the database answers")
def readyz(unit: UnitDep, caller: Anyone) -> Status:
    """503 with Retry-After when the database cannot be reached."""
    ping(unit.session)
    return Status(status="ready")


@router.get("/metrics", response_class=MetricsResponse, summary="Prometheus metrics",
            responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
def metrics(request: Request, unit: UnitDep, caller: Anyone) -> MetricsResponse:
    """Requests (this process); transitions, reminders raised and delivered, delivery
    failures and dead letters (from the database, so right across processes)."""
    counter: RequestCounter = request.app.state.requests
    return MetricsResponse(render(unit.session, counter))
