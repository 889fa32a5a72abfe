"""`pathway simulate`: a synthetic cohort through a year of a pathway version, in simulated time.

The run uses the real use cases and the real scheduler steps on a throwaway database that the
caller provides (migrated, nothing in it): each simulated day the scan raises what fell due
(`raise_all_due`) and unattended reminders escalate (`escalate_due`), then the day's arrivals
are opened and the day's scripted events recorded, all as of that day (time is a parameter).
At the end it reports the episodes' states, the reminders raised by kind, the escalations and
the KPIs of PATHWAY.md, so a clinical lead can compare two versions on the same patients.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from pathway.clock import day_start
from pathway.definition import PathwayDefinition
from pathway.episodes import apply_event, open_episode
from pathway.errors import TransitionRefused
from pathway.escalation import escalate_due
from pathway.kpis import KpiReport, compute_kpis
from pathway.scan import raise_all_due
from pathway.store.db import transaction
from pathway.store.tallies import reminders_by_kind
from pathway.store.versions import (
    add_version,
    current_version,
    drop_unused_after,
    load_definition,
)
from pathway.store.worklist import count_by_state
from pathway.synthetic.cohort import Cohort, Patient, patients
from pathway.vocabulary import ReminderStatus

ACTOR = "simulation"
ESCALATION_BATCH = 500


@dataclass(frozen=True)
class SimulationResult:
    """What a cohort did on one pathway version."""

    version: int
    title: str
    episodes: int
    events: int
    refused: int  # scripted events the pathway refused (a fact after closing, for example)
    states: dict[str, int]
    reminders: dict[str, int]  # raised, by kind
    escalated: int
    open_reminders: int  # still awaiting action at the end
    kpis: KpiReport


def use_version(session: Session, definition: PathwayDefinition, now: dt.datetime) -> None:
    """Make `definition` the version new episodes start on in the simulation's (empty)
    database: an older version than the newest stored is made current by dropping the newer
    ones (no episode is on them yet)."""
    stored = current_version(session)
    if definition.version < stored:
        drop_unused_after(session, definition.version)
        stored = current_version(session)
    if stored == definition.version:
        if load_definition(session, stored).as_data() != definition.as_data():
            raise ValueError(f"version {stored} is stored with other content")
        return
    add_version(session, definition=definition, note="simulated", now=now)


def _at(cohort: Cohort, day: int, hour: int, zone: ZoneInfo, minute: int = 0) -> dt.datetime:
    return day_start(cohort.start + dt.timedelta(days=day), zone) + dt.timedelta(
        hours=hour, minutes=minute)


class _Run:
    """One simulation: the scripts by day, the episodes opened, the counters."""

    def __init__(self, cohort: Cohort, cast: list[Patient], zone: ZoneInfo) -> None:
        self.cohort = cohort
        self.zone = zone
        self.arrivals: dict[int, list[Patient]] = defaultdict(list)
        for patient in cast:
            self.arrivals[patient.arrival_day].append(patient)
        self.due: dict[int, list[tuple[int, str, dict[str, object]]]] = defaultdict(list)
        self.episode_of: dict[int, int] = {}
        self.events = self.refused = self.escalated = 0

    def day(self, session: Session, day: int) -> None:
        """Scan and escalate as the scheduler would, then the day's arrivals and events."""
        scan_at = _at(self.cohort, day, 0, self.zone, minute=30)
        raise_all_due(session, now=scan_at)
        while True:
            step = escalate_due(session, now=scan_at, lead_email=None, limit=ESCALATION_BATCH)
            self.escalated += step.escalated
            if step.escalated + step.cleared < ESCALATION_BATCH:
                break
        for patient in self.arrivals.pop(day, []):
            episode = open_episode(session, intake=patient.intake, actor=ACTOR,
                                   now=_at(self.cohort, day, 9, self.zone), zone=self.zone)
            self.episode_of[patient.index] = episode.id
            for offset, event, data in patient.steps:
                self.due[day + offset].append((episode.id, event, data))
        when = _at(self.cohort, day, 10, self.zone)
        occurred_on = self.cohort.start + dt.timedelta(days=day)
        for episode_id, event, data in self.due.pop(day, []):
            try:
                apply_event(session, episode_id=episode_id, event=event, data=data, actor=ACTOR,
                            now=when, zone=self.zone, occurred_on=occurred_on)
                self.events += 1
            except TransitionRefused:
                self.refused += 1


def simulate(
    sessions: sessionmaker[Session], *, cohort: Cohort, definition: PathwayDefinition,
    zone: ZoneInfo, progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run `cohort` for `cohort.days` days on `definition`, in an empty migrated database."""
    with transaction(sessions) as session:
        use_version(session, definition, _at(cohort, 0, 0, zone))
    run = _Run(cohort, patients(cohort, definition), zone)
    for day in range(cohort.days):
        with transaction(sessions) as session:
            run.day(session, day)
        if progress is not None:
            progress(day + 1, cohort.days)
    end = _at(cohort, cohort.days, 0, zone)
    with transaction(sessions) as session:
        raised = dict(reminders_by_kind(session))
        open_count = sum(n for _, n in reminders_by_kind(
            session, statuses=(ReminderStatus.OPEN.value,)))
        kpis = compute_kpis(session, start=cohort.start,
                            end=cohort.start + dt.timedelta(days=cohort.days), now=end, zone=zone)
        states = count_by_state(session)
    return SimulationResult(
        version=definition.version, title=definition.title, episodes=len(run.episode_of),
        events=run.events, refused=run.refused, states=states,
        reminders=raised, escalated=run.escalated,
        open_reminders=open_count, kpis=kpis,
    )


def _percent(numerator: int, denominator: int) -> str:
    if not denominator:
        return "-"
    return f"{100 * numerator / denominator:.0f}% ({numerator}/{denominator})"


def side_by_side(results: list[SimulationResult]) -> str:
    """A plain-text table with one column per simulated version."""
    rows: list[tuple[str, list[str]]] = [
        ("episodes", [str(r.episodes) for r in results]),
        ("events recorded", [str(r.events) for r in results]),
        ("events refused", [str(r.refused) for r in results]),
    ]
    rows.append(("final states", [""] * len(results)))
    for state in sorted({s for r in results for s in r.states}):
        rows.append((f"  {state}", [str(r.states.get(state, 0)) for r in results]))
    rows.append(("reminders raised", [str(sum(r.reminders.values())) for r in results]))
    for kind in sorted({k for r in results for k in r.reminders}):
        rows.append((f"  {kind}", [str(r.reminders.get(kind, 0)) for r in results]))
    rows.append(("escalated", [str(r.escalated) for r in results]))
    rows.append(("awaiting action at the end", [str(r.open_reminders) for r in results]))
    rows.append(("KPIs", [""] * len(results)))
    for index, kpi in enumerate(results[0].kpis.kpis):
        cells = []
        for r in results:
            k = r.kpis.kpis[index]
            cells.append(f"{_percent(k.numerator, k.denominator)} by day {k.deadline_day}")
        rows.append((f"  {kpi.key}", cells))
    rows.append(("median days to milestone", [""] * len(results)))
    timings = [{t.milestone: t.median_days for t in r.kpis.timings} for r in results]
    kinds = dict.fromkeys(t.milestone for r in results for t in r.kpis.timings)  # in order
    for kind in kinds:  # a kind a version lacks shows as "-"
        rows.append((f"  {kind}", [_median(by_kind[kind]) if kind in by_kind else "-"
                                   for by_kind in timings]))
    header = ("", [f"version {r.version}" for r in results])
    width = max(len(label) for label, _ in rows) + 2
    cols = [max(len(header[1][i]), *(len(c[i]) for _, c in rows)) + 2 for i in range(len(results))]
    lines = []
    for label, cells in [header, *rows]:
        lines.append(label.ljust(width) + "".join(c.rjust(w) for c, w in zip(cells, cols,
                                                                             strict=True)))
    return "\n".join(lines)


def _median(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"

