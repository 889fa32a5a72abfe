"""The KPIs of PATHWAY.md for a date range and coordinator: RAG bands, a bar per KPI against
the green and amber lines, and a trend by month (cohorts by the month of day 0)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.dashboard.event_forms import parse_date
from api.dashboard.web import Dashboard, DashboardDep, DbDep, ViewerDep, render
from pathway.errors import InvalidData
from pathway.kpis import KpiReport, MonthlyKpis, compute_kpis, kpis_with_trend, monthly_kpis
from pathway.store.versions import current_version, load_definition
from pathway.store.worklist import list_coordinators

router = APIRouter()
DEFAULT_DAYS = 365
MAX_DAYS = 5 * 366
MAX_TREND_MONTHS = 24


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the calendar months overlapping [start, end] (the last 24 at most)."""
    months = []
    first = start.replace(day=1)
    while first <= end:
        months.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months[-MAX_TREND_MONTHS:]


def _report_and_trend(db: Session, board: Dashboard, start: dt.date, end: dt.date,
                      coordinator: str | None) -> tuple[KpiReport, dict[str, Any]]:
    """The report over [start, end] and its trend (the last `MAX_TREND_MONTHS` months of it):
    one read of the cohort when the trend covers the whole range, else two."""
    months = _months(start, end)
    args: dict[str, Any] = {"now": board.now(), "zone": board.runtime.settings.zone,
                            "coordinator": coordinator}
    if months[0] <= start:
        report, monthly = kpis_with_trend(db, start=start, end=end, **args)
    else:
        report = compute_kpis(db, start=start, end=end, **args)
        monthly = monthly_kpis(db, start=months[0], end=end, **args)
    return report, _trend(months, monthly)


def _trend(months: list[dt.date], monthly: list[MonthlyKpis]) -> dict[str, Any]:
    """Each rate KPI by month of day 0; a month without episodes has no value."""
    found = {m.month: m.kpis for m in monthly}
    series: dict[str, dict[str, Any]] = {}
    for index, month in enumerate(months):
        for kpi in found.get(month, []):
            entry = series.setdefault(kpi.key, {"key": kpi.key, "title": kpi.title,
                                                "rates": [None] * len(months)})
            entry["rates"][index] = round(kpi.rate * 100, 1) if kpi.rate is not None else None
    return {"labels": [m.strftime("%Y-%m") for m in months], "series": list(series.values())}


def _bars(report: KpiReport) -> list[dict[str, Any]]:
    return [{"key": k.key, "title": k.title, "band": k.band,
             "rate": round(k.rate * 100, 1) if k.rate is not None else None,
             "numerator": k.numerator, "denominator": k.denominator} for k in report.kpis]


def _range(start: str, end: str, today: dt.date) -> tuple[dt.date, dt.date]:
    first = parse_date("start", start, required=False) or today - dt.timedelta(days=DEFAULT_DAYS)
    last = parse_date("end", end, required=False) or today
    if first > last:
        raise InvalidData("start", "must not be after end")
    if (last - first).days > MAX_DAYS:
        raise InvalidData("start", "the range must be at most five years")
    return first, last


@router.get("/kpis")
def kpi_page(
    request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
    start: str = "", end: str = "", coordinator: str = "",
) -> Response:
    """The KPI page."""
    today = board.today()
    who = coordinator.strip()[:120] or None
    context: dict[str, Any] = {"coordinators": list_coordinators(db), "coordinator": who or "",
                               "start": start, "end": end, "error": None, "report": None}
    try:
        first, last = _range(start, end, today)
    except InvalidData as exc:
        context["error"] = f"{exc.field}: {exc.reason}"
        return render(request, board, "kpis.html", context, viewer=viewer, status_code=422)
    definition = load_definition(db, current_version(db))
    kept = board.runtime.reports.get(
        ("page", first, last, who, today), board.now(),
        lambda: _report_and_trend(db, board, first, last, who))
    report, trend = kept.value
    bands = {"green": round(definition.kpi_bands.green * 100),
             "amber": round(definition.kpi_bands.amber * 100)}
    context.update({
        "start": first.isoformat(), "end": last.isoformat(), "report": report, "bands": bands,
        "computed_at": kept.computed_at.astimezone(board.runtime.settings.zone).strftime(
            "%H:%M:%S"),
        "kept_minutes": round(board.runtime.settings.kpi_report_seconds / 60),
        "chart": {"bars": _bars(report), "bands": bands,
                  "trend": trend},
    })
    return render(request, board, "kpis.html", context, viewer=viewer)
