"""KPI reports kept briefly, per process.

A report reads every first milestone of its cohort: seconds at 100,000 episodes (BENCHMARKS.md,
KPI reports), and every coordinator opening the KPI page, or an integration polling
`GET /v1/kpis`, would start that read again. KPIs are audit figures over weeks and months, so
each process keeps a report for `Settings.kpi_report_seconds` (300 by default; 0 computes every
time) and shows when it was computed. At most `MAX_REPORTS` are kept (the oldest goes first),
so memory does not grow with the ranges people ask for.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

V = TypeVar("V")

#: Reports kept per process, whatever their age.
MAX_REPORTS = 32


@dataclass(frozen=True)
class Kept(Generic[V]):
    """A value and when it was computed."""

    value: V
    computed_at: dt.datetime


@dataclass
class ReportCache:
    """Values by key, reused while younger than `seconds` by the runtime's clock. Requests for
    a key nobody has computed yet wait for the first one's result instead of each computing it
    (several coordinators opening the KPI page at nine would otherwise each read the cohort)."""

    seconds: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _kept: OrderedDict[Hashable, Kept[Any]] = field(default_factory=OrderedDict)
    _computing: dict[Hashable, threading.Lock] = field(default_factory=dict)

    def _young(self, key: Hashable, now: dt.datetime) -> Kept[Any] | None:
        found = self._kept.get(key)
        if found is None:
            return None
        age = (now - found.computed_at).total_seconds()
        # A clock set back by more than the window (a test, a corrected clock) makes it stale.
        return found if -self.seconds < age < self.seconds else None

    def get(self, key: Hashable, now: dt.datetime, compute: Callable[[], V]) -> Kept[V]:
        """The value kept under `key` if computed less than `seconds` before `now`, else
        `compute()` (once for concurrent callers with the same key), kept from now on."""
        if self.seconds <= 0:
            return Kept(compute(), now)
        with self._lock:
            found = self._young(key, now)
            if found is not None:
                return found
            turn = self._computing.setdefault(key, threading.Lock())
        with turn:
            with self._lock:  # computed by the caller we waited for?
                found = self._young(key, now)
            if found is not None:
                return found
            try:
                fresh = Kept(compute(), now)
            except BaseException:
                with self._lock:
                    self._computing.pop(key, None)
                raise
            with self._lock:  # kept before the turn is gone: a newcomer finds it
                self._kept[key] = fresh
                self._kept.move_to_end(key)
                while len(self._kept) > MAX_REPORTS:
                    self._kept.popitem(last=False)
                self._computing.pop(key, None)
            return fresh
