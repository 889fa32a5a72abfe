"""Calendar days in the site's time zone: a day starts at 00:00 local, stored as UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant at which `day` begins in `zone` (DST-aware)."""
    local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    return local.astimezone(dt.UTC)


def local_day(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The calendar date of `instant` in `zone`."""
    return instant.astimezone(zone).date()


def day_number(day0: dt.date, today: dt.date) -> int:
    """Days since day 0 (day 0 itself is day 0)."""
    return (today - day0).days


def utc_now() -> dt.datetime:
    """The wall clock, for the edges only: the core always takes `now` as a parameter."""
    return dt.datetime.now(dt.UTC)
