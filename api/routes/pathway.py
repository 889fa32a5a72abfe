"""The pathway as data (definition, events, diagram) and its KPIs."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Caller, require
from api.openapi import problems
from api.schemas import (
    BoundedDate,
    Diagram,
    EventRule,
    KpiOut,
    KpiReportOut,
    Name,
    OverdueOut,
    PathwayOut,
    TimingOut,
    VersionList,
    VersionOut,
)
from api.strict import StrictRoute
from api.units import UnitDep
from pathway.clock import local_day
from pathway.definition import PathwayDefinition
from pathway.diagram import mermaid
from pathway.errors import InvalidData
from pathway.event_data import DATA_SCHEMAS
from pathway.kpis import compute_kpis
from pathway.permissions import Action
from pathway.rules.machine import transitions_from
from pathway.store.versions import current_version, list_versions, load_definition
from pathway.vocabulary import TRACK_FINAL_STATES, CareState, Fact

router = APIRouter(prefix="/v1", tags=["pathway"], route_class=StrictRoute)
Reader = Annotated[Caller, Depends(require(Action.READ))]
KpiReader = Annotated[Caller, Depends(require(Action.READ_KPIS))]
DEFAULT_RANGE_DAYS = 365
MAX_RANGE_DAYS = 20 * 366


@cache
def _events() -> dict[str, EventRule]:
    """Each event's kind, source states and data schema (code, so computed once)."""
    rules: dict[str, EventRule] = {}
    for name, schema in DATA_SCHEMAS.items():
        is_fact = name in {f.value for f in Fact}
        sources = ([s.value for s in CareState if s != CareState.CLOSED] if is_fact else
                   [s.value for s in CareState if name in transitions_from(s.value)])
        rules[str(name)] = EventRule(kind="fact" if is_fact else "transition",
                                     from_states=sources, data_schema=schema.model_json_schema())
    return rules


def _pathway(definition: PathwayDefinition, current: int) -> PathwayOut:
    return PathwayOut(
        version=definition.version, current=definition.version == current,
        title=definition.title, states=[s.value for s in CareState],
        track_final_states=[s.value for s in CareState if s in TRACK_FINAL_STATES],
        events=_events(), definition=definition.as_data(),
        diagram=Diagram(format="mermaid", source=mermaid()),
    )


@router.get("/pathway", response_model=PathwayOut, summary="The current pathway version")
def pathway(unit: UnitDep, caller: Reader) -> PathwayOut:
    """Windows, reminder rules and thresholds; each event's data schema; the state diagram
    generated from the state machine itself."""
    current = current_version(unit.session)
    return _pathway(load_definition(unit.session, current), current)


@router.get("/pathway/versions", response_model=VersionList, summary="Stored pathway versions")
def versions(unit: UnitDep, caller: Reader) -> VersionList:
    """Every stored version, oldest first; new episodes start on the newest."""
    return VersionList(current=current_version(unit.session),
                       items=[VersionOut.model_validate(v) for v in list_versions(unit.session)])


@router.get("/pathway/versions/{version}", response_model=PathwayOut, responses=problems(404),
            summary="One pathway version")
def version(version: Annotated[int, Path(ge=1, le=2**31 - 1)], unit: UnitDep,
            caller: Reader) -> PathwayOut:
    """A stored version as data, with the diagram (the machine is the same for all)."""
    return _pathway(load_definition(unit.session, version), current_version(unit.session))


@router.get("/kpis", response_model=KpiReportOut, summary="Key performance indicators")
def kpis(
    unit: UnitDep, caller: KpiReader,
    start: Annotated[BoundedDate | None, Query(
        alias="from", description="First day 0 of the cohort (default: a year ago)")] = None,
    end: Annotated[BoundedDate | None, Query(
        alias="to", description="Last day 0 of the cohort (default: today)")] = None,
    coordinator: Annotated[Name | None, Query()] = None,
) -> KpiReportOut:
    """Each KPI of PATHWAY.md with numerator, denominator, rate and red / amber / green band;
    median days to each milestone; unresolved overdue reminders by kind and age. A report is
    kept for `PATHWAY_KPI_REPORT_SECONDS` (300) and reused: `computed_at` says when it was
    computed."""
    today = local_day(unit.now, unit.zone)
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_RANGE_DAYS)
    if start > end:
        raise InvalidData("from", "must not be after `to`")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidData("from", f"the range must be at most {MAX_RANGE_DAYS} days")
    kept = unit.runtime.reports.get(
        ("api", start, end, coordinator, today), unit.now,
        lambda: compute_kpis(unit.session, start=start, end=end, now=unit.now, zone=unit.zone,
                             coordinator=coordinator))
    report = kept.value
    return KpiReportOut(
        from_=report.start, to=report.end, as_of=report.as_of, computed_at=kept.computed_at,
        coordinator=report.coordinator,
        episodes=report.episodes,
        kpis=[KpiOut.model_validate(k) for k in report.kpis],
        timings=[TimingOut.model_validate(t) for t in report.timings],
        overdue_reminders=[OverdueOut.model_validate(o) for o in report.overdue_reminders],
    )
