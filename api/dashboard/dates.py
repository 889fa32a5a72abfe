"""How the dashboard writes days and instants: in the site's time zone, absolute and, where a
coordinator plans by it, relative too ("overdue 5 days (2026-11-26)")."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context


def _zone(context: Any) -> ZoneInfo:
    zone: ZoneInfo = context["zone"]
    return zone


def _day_of(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date()
    return value


@pass_context
def day(context: Any, value: dt.date | dt.datetime | None) -> str:
    """The day of a date or instant in the site zone, ISO (`2026-11-26`)."""
    return "" if value is None else _day_of(value, _zone(context)).isoformat()


@pass_context
def local(context: Any, value: dt.datetime | None) -> str:
    """An instant in the site zone, to the minute (`2026-11-26 14:05`)."""
    if value is None:
        return ""
    return value.astimezone(_zone(context)).strftime("%Y-%m-%d %H:%M")


def relative(value: dt.date, today: dt.date) -> str:
    """A day relative to today, with the date: `in 3 days (2026-12-06)`, `today (...)`,
    `5 days ago (2026-11-26)`."""
    days = (value - today).days
    if days == 0:
        words = "today"
    elif days == 1:
        words = "tomorrow"
    elif days == -1:
        words = "yesterday"
    elif days > 0:
        words = f"in {days} days"
    else:
        words = f"{-days} days ago"
    return f"{words} ({value.isoformat()})"


@pass_context
def when(context: Any, value: dt.date | dt.datetime | None) -> str:
    """`relative` for a date or an instant's day in the site zone, against the page's today."""
    if value is None:
        return ""
    today: dt.date = context["today"]
    return relative(_day_of(value, _zone(context)), today)


FILTERS = {"day": day, "local": local, "when": when}
