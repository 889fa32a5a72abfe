"""The worklist's summary counts (episodes by state, open reminders by kind), kept briefly.

Counting walks one index entry per episode or open reminder: about 27 ms of the worklist's
37 ms at 100,000 episodes on SQLite, and it grows with the service (BENCHMARKS.md, workload 4).
The counts are a summary, so each process keeps them for `worklist_counts_seconds` (10 s by
default; 0 counts on every page) and the page says when they were taken. The rows of the
worklist are always read live.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from pathway.store.worklist import count_by_state, count_open_reminders_by_kind


@dataclass(frozen=True)
class Counts:
    """Episodes by state and open reminders by kind, as of `taken_at`."""

    states: dict[str, int]
    kinds: dict[str, int]
    taken_at: dt.datetime


@dataclass
class CountsCache:
    """The latest counts of one process, reused for `seconds`."""

    seconds: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _kept: tuple[float, Counts] | None = None

    def get(self, session: Session, now: dt.datetime) -> Counts:
        """The kept counts if young enough, else fresh ones from `session`."""
        started = time.monotonic()
        with self._lock:
            kept = self._kept
        if kept is not None and started - kept[0] < self.seconds:
            return kept[1]
        counts = Counts(count_by_state(session), count_open_reminders_by_kind(session), now)
        with self._lock:
            self._kept = (started, counts)
        return counts
