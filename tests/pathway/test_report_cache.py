"""`pathway.report_cache`: reports reused while young, recomputed after, bounded in number."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from pathway.report_cache import MAX_REPORTS, ReportCache

T = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


def test_reused_while_young_then_recomputed() -> None:
    cache = ReportCache(seconds=300)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", T, compute).value == 1
    kept = cache.get("k", T + dt.timedelta(seconds=299), compute)
    assert (kept.value, kept.computed_at) == (1, T)
    assert cache.get("other", T, compute).value == 2  # another key, another report
    assert cache.get("k", T - dt.timedelta(seconds=1), compute).value == 1  # a second early
    set_back = T - dt.timedelta(seconds=301)  # a clock set back by more than the window
    assert cache.get("k", set_back, compute).value == 3
    assert cache.get("k", set_back + dt.timedelta(seconds=299), compute).value == 3
    later = T + dt.timedelta(seconds=600)
    assert cache.get("k", later, compute).computed_at == later
    assert len(calls) == 4


def test_zero_seconds_keeps_nothing_and_the_number_kept_is_bounded() -> None:
    never = ReportCache(seconds=0)
    never.get("k", T, lambda: 1)
    assert never.get("k", T, lambda: 2).value == 2
    cache = ReportCache(seconds=300)
    for key in range(MAX_REPORTS + 5):
        cache.get(key, T, lambda key=key: key)  # type: ignore[misc]
    assert len(cache._kept) == MAX_REPORTS
    assert cache.get(0, T, lambda: -1).value == -1  # the oldest went first
    assert cache.get(MAX_REPORTS + 4, T, lambda: -1).value == MAX_REPORTS + 4


def test_concurrent_callers_of_one_key_compute_it_once() -> None:
    """Callers arriving while a report is being computed wait for it; a failure is not kept
    and the next caller computes again."""
    cache = ReportCache(seconds=300)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        started.set()
        release.wait(5)
        return "report"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", T, slow).value))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=lambda: results.append(
        cache.get("k", T + dt.timedelta(seconds=1), slow).value)) for _ in range(3)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert results == ["report"] * 4 and calls == ["slow"]

    def failing() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("other", T, failing)
    assert cache.get("other", T, lambda: "second try").value == "second try"
    assert cache._computing == {}
