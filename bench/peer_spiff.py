"""The SpiffWorkflow peer benchmark (issue 13): SpiffWorkflow on the pathway's workloads, and
Pathway on the same ones, in the same run, on the same machine and SQLite settings.

The contract is /work/shared/peer/WORKLOADS.md. The model is `bench/peer_spiff.bpmn` (plain
BPMN 2.0: user tasks assess -> conservative_care -> reassessment -> imaging ->
augmentation_review, exclusive gateways on neuro_deficit, symptoms and refer, three
non-interrupting timeDate boundary timers computed from identified_on: day 42, 63, 104, each
leading to a script task that appends a reminder to a workflow-scoped data object). Storage is
one SQLite file per configuration (WAL, synchronous=NORMAL), one row per episode holding the
workflow as `BpmnWorkflowSerializer` writes it, every create and step its own transaction
(BEGIN IMMEDIATE ... COMMIT):

- stock: the serializer as shipped; each row carries the process spec, and a scan has to
  restore every row to find its timers;
- best: the spec stored once in the file and restored once per process (a converter that
  leaves it out of each row), plus an indexed column with each episode's next timer instant,
  so a scan reads only the due rows. The contract quotes this one.

W1: N episodes created (identified today, engine steps run), then 4 rounds over all of them
(assess {"neuro_deficit": false}, conservative_care {}, reassessment {"symptoms":
"persistent"}, imaging {}); creates/s, steps/s, p50/p99 per step; every episode is checked to
wait at augmentation_review with its day-104 timer. In the same run, Pathway's own W1
(`bench.transitions.run_once`: `open_episode`, then four `apply_event` steps) and the bare
statements (`bench.bare_transitions.bare_rates`), and the ratios of issue 13's targets.

W2: M open episodes identified over the last 200 days (seeded), a third waiting at each of
conservative_care, imaging and augmentation_review, each with its one armed timer. Each row is
a real serialization of an episode stepped to its state on the day it was identified (the
engine's clock set to that day while building; one template per state and day, copied to the
rows that share them). Tick 1 refreshes the timers of what is due (the stock store: of every
row) and runs the reminder scripts; tick 2, at once after, must raise nothing. The engine's
clock is fixed at the tick's instant during a tick, as Pathway's scan is given `now`. The
count raised is checked against the plan's. Pathway's scan runs on a database of the same
number of episodes (`bench.bulk`, as `bench.scan` builds them) with the same number of
milestones made due (`bench.scan.mark_due`, `timed_scan`): not the same rows, the same sizes.

SQLite only: the peer's contract is SQLite; `--backend postgresql` is accepted and skipped.
SpiffWorkflow comes from the optional `bench` extra (`pip install -e '.[bench]'`).

    .venv/bin/python -m bench.peer_spiff            # 10,000 episodes W1, 100,000 W2, 1 run
    .venv/bin/python -m bench.peer_spiff --quick    # 500 W1, 5,000 W2
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.util.task import TaskState

from bench.common import backends, base_parser, machine_line, median, ms, percentile

BPMN_PATH = Path(__file__).with_name("peer_spiff.bpmn")
PROCESS_ID = "vcf_pathway"
CONFIGS = ("stock", "best")

#: W1's four rounds: the user task completed and its payload.
ROUNDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("assess", {"neuro_deficit": False}),
    ("conservative_care", {}),
    ("reassessment", {"symptoms": "persistent"}),
    ("imaging", {}),
)
#: The waiting states of W2: user task -> (its boundary timer, the day it falls due).
WAITING: dict[str, tuple[str, int]] = {
    "conservative_care": ("conservative_care_timer", 42),
    "imaging": ("imaging_timer", 63),
    "augmentation_review": ("augmentation_review_timer", 104),
}
#: W2's episodes are identified over this many days up to today.
SCAN_DAYS = 200
SEED = 13
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class CheckFailed(RuntimeError):
    """A correctness check of the workload failed: the figures next to it mean nothing."""


def timer_at(identified_on: str, days: int) -> str:
    """What the BPMN timers' timeDate expressions evaluate to: 00:00 UTC on identified_on +
    days, as ISO text (what Spiff's TimeDateEventDefinition parses)."""
    day = dt.date.fromisoformat(identified_on) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(0), dt.UTC).isoformat()


def micros(instant: dt.datetime) -> int:
    """Microseconds since 1970 UTC: how the best store's timer column orders instants."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def script_engine() -> PythonScriptEngine:
    """Spiff's Python script engine with `timer_at` in scope, as a team would add helpers."""
    return PythonScriptEngine(environment=TaskDataEnvironment({"timer_at": timer_at}))


def parse_spec(path: Path = BPMN_PATH) -> Any:
    """The process spec, parsed once per process and validated against the BPMN schema."""
    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(path))
    return parser.get_spec(PROCESS_ID)


@contextmanager
def spiff_clock(instant: dt.datetime) -> Iterator[None]:
    """Spiff's timers read `datetime.now(timezone.utc)`; within this block that is `instant`.
    Used to build W2's population as of each episode's day, and to run a tick at one instant
    (Pathway's scan is given `now` the same way)."""

    class Fixed(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Fixed:
            value = instant.astimezone(tz) if tz else instant.replace(tzinfo=None)
            return cls.combine(value.date(), value.timetz())

    original = spiff_timer.datetime
    spiff_timer.datetime = Fixed
    try:
        yield
    finally:
        spiff_timer.datetime = original


class KnownSpecConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """The best configuration's workflow converter: rows leave the spec out and are restored
    against the spec this process restored once (and with its script engine, so no engine is
    built per row)."""

    def __init__(self, target_class: type, registry: Any, *, spec: Any,
                 engine: PythonScriptEngine) -> None:
        super().__init__(target_class, registry)
        self.spec = spec
        self.engine = engine

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        workflow = self.target_class(self.spec, {}, script_engine=self.engine,
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def connect(path: Path) -> sqlite3.Connection:
    """A connection as the contract sets it up: WAL, synchronous=NORMAL, explicit BEGINs."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def next_timer(workflow: Any) -> int | None:
    """The earliest armed timer of a workflow, in microseconds since 1970 UTC (None: none)."""
    instants = [micros(spiff_timer.TimerEventDefinition.get_datetime(event.value))
                for event in workflow.waiting_events()
                if event.event_type == "TimeDateEventDefinition" and event.value]
    return min(instants, default=None)


def reminders(workflow: Any) -> list[str]:
    """The workflow-scoped data object the timers' script tasks append to."""
    return list(workflow.data_objects.get("reminders") or [])


@dataclass
class Store:
    """One configuration: its SQLite file, serializer and what a row holds."""

    config: str
    path: Path
    conn: sqlite3.Connection
    spec: Any
    engine: PythonScriptEngine
    serializer: BpmnWorkflowSerializer

    @classmethod
    def create(cls, config: str, spec: Any, directory: Path | None = None) -> Store:
        """A new file with the configuration's schema (best: the spec stored once, then
        restored from the file as a process starting on it would)."""
        folder = directory or Path(tempfile.gettempdir())
        path = folder / f"pathway_bench_peer_spiff_{config}_{os.getpid()}.db"
        _unlink(path)
        conn = connect(path)
        engine = script_engine()
        if config == "stock":
            conn.execute("CREATE TABLE episodes (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL)")
            return cls(config, path, conn, spec, engine, BpmnWorkflowSerializer())
        conn.executescript(
            "CREATE TABLE process_specs (name TEXT PRIMARY KEY, spec TEXT NOT NULL);"
            "CREATE TABLE episodes (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, "
            "next_timer_at INTEGER);"
            "CREATE INDEX ix_episodes_next_timer_at ON episodes (next_timer_at) "
            "WHERE next_timer_at IS NOT NULL;")
        plain = BpmnWorkflowSerializer()
        conn.execute("INSERT INTO process_specs VALUES (?, ?)",
                     (PROCESS_ID, json.dumps(plain.to_dict(spec))))
        stored = conn.execute("SELECT spec FROM process_specs WHERE name = ?",
                              (PROCESS_ID,)).fetchone()[0]
        restored = plain.from_dict(json.loads(stored))
        registry = BpmnWorkflowSerializer.configure()
        KnownSpecConverter(BpmnWorkflow, registry, spec=restored, engine=engine)
        return cls(config, path, conn, restored, engine, BpmnWorkflowSerializer(registry))

    @property
    def indexed(self) -> bool:
        return self.config == "best"

    def new_workflow(self, identified_on: dt.date) -> Any:
        """A new episode's workflow, identified on that day, engine steps run."""
        workflow = BpmnWorkflow(self.spec, script_engine=self.engine)
        start = workflow.get_next_task(state=TaskState.READY)
        start.data["identified_on"] = identified_on.isoformat()
        workflow.do_engine_steps()
        return workflow

    def dumps(self, workflow: Any) -> str:
        return str(self.serializer.serialize_json(workflow))

    def loads(self, text: str) -> Any:
        workflow = self.serializer.deserialize_json(text)
        if not self.indexed:
            workflow.script_engine = self.engine  # the stock serializer does not keep it
        return workflow

    def row(self, workflow: Any) -> tuple[Any, ...]:
        """The columns an INSERT or UPDATE writes for a workflow."""
        text = self.dumps(workflow)
        return (text, next_timer(workflow)) if self.indexed else (text,)

    def insert(self, cur: sqlite3.Cursor, values: tuple[Any, ...]) -> int:
        columns = "workflow, next_timer_at" if self.indexed else "workflow"
        marks = ", ".join("?" for _ in values)
        cur.execute(f"INSERT INTO episodes ({columns}) VALUES ({marks})", values)
        return int(cur.lastrowid or 0)

    def update(self, cur: sqlite3.Cursor, episode_id: int, workflow: Any) -> None:
        sets = "workflow = ?, next_timer_at = ?" if self.indexed else "workflow = ?"
        cur.execute(f"UPDATE episodes SET {sets} WHERE id = ?", (*self.row(workflow), episode_id))

    def read(self, cur: sqlite3.Cursor, episode_id: int) -> Any:
        text = cur.execute("SELECT workflow FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return self.loads(text[0])

    def candidates(self, now: dt.datetime) -> list[int]:
        """The episodes a tick has to open: best, the due ones by the index; stock, all."""
        if self.indexed:
            rows = self.conn.execute(
                "SELECT id FROM episodes WHERE next_timer_at IS NOT NULL AND next_timer_at < ?"
                " ORDER BY next_timer_at", (micros(now),))
        else:
            rows = self.conn.execute("SELECT id FROM episodes ORDER BY id")
        return [int(r[0]) for r in rows]

    def size_bytes(self) -> int:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        return int(pages) * int(self.conn.execute("PRAGMA page_size").fetchone()[0])

    def drop(self) -> None:
        self.conn.close()
        _unlink(self.path)


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def transaction(store: Store) -> Iterator[sqlite3.Cursor]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an error): one step's transaction."""
    cur = store.conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


# --- W1: transitions -----------------------------------------------------------------------


@dataclass
class W1Result:
    """One configuration's W1 figures."""

    creates_per_s: float
    steps_per_s: float
    step_latencies: dict[str, list[float]]
    bytes_per_episode: float

    @property
    def latencies(self) -> list[float]:
        return [v for values in self.step_latencies.values() for v in values]


def create_one(store: Store, identified_on: dt.date) -> int:
    """One create, its own transaction: build, run engine steps, serialize, INSERT."""
    with transaction(store) as cur:
        return store.insert(cur, store.row(store.new_workflow(identified_on)))


def step_one(store: Store, episode_id: int, task_name: str, payload: dict[str, Any]) -> None:
    """One step, its own transaction: read, restore, complete the ready user task with its
    payload, run engine steps, serialize, UPDATE."""
    with transaction(store) as cur:
        workflow = store.read(cur, episode_id)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.name != task_name:
            raise CheckFailed(f"episode {episode_id}: {task_name} is not ready ({task})")
        task.data.update(payload)
        task.run()
        workflow.do_engine_steps()
        store.update(cur, episode_id, workflow)


def run_w1(store: Store, episodes: int, today: dt.date) -> W1Result:
    """Create `episodes` episodes, then take each through the four rounds; checked."""
    start = time.perf_counter()
    ids = [create_one(store, today) for _ in range(episodes)]
    creates = episodes / (time.perf_counter() - start)
    latencies: dict[str, list[float]] = {}
    step_wall = 0.0
    for task_name, payload in ROUNDS:
        latencies[task_name] = []
        start = time.perf_counter()
        for episode_id in ids:
            t0 = time.perf_counter()
            step_one(store, episode_id, task_name, payload)
            latencies[task_name].append(time.perf_counter() - t0)
        step_wall += time.perf_counter() - start
    check_w1(store, ids, today)
    return W1Result(creates, len(ids) * len(ROUNDS) / step_wall, latencies,
                    store.size_bytes() / episodes)


def check_w1(store: Store, ids: list[int], today: dt.date) -> None:
    """Every episode waits at augmentation_review with its day-104 timer (and the best
    store's column says so), and no timer fired."""
    expected = timer_at(today.isoformat(), WAITING["augmentation_review"][1])
    cur = store.conn.cursor()
    for episode_id in ids:
        workflow = store.read(cur, episode_id)
        ready = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
        timers = [(e.name, e.value) for e in workflow.waiting_events()]
        if ready != ["augmentation_review"] or timers != [
                ("augmentation_review_timer", expected)] or reminders(workflow):
            raise CheckFailed(f"{store.config} episode {episode_id}: ready {ready}, "
                              f"timers {timers}, reminders {reminders(workflow)}")
        if store.indexed:
            column = cur.execute("SELECT next_timer_at FROM episodes WHERE id = ?",
                                 (episode_id,)).fetchone()[0]
            if column != micros(dt.datetime.fromisoformat(expected)):
                raise CheckFailed(f"episode {episode_id}: next_timer_at {column}")


# --- W2: the overdue scan ------------------------------------------------------------------


@dataclass
class Plan:
    """W2's population: each episode's identified day and the user task it waits at."""

    identified_on: list[dt.date]
    states: list[str]

    def timer_instants(self) -> list[dt.datetime]:
        return [dt.datetime.fromisoformat(timer_at(day.isoformat(), WAITING[state][1]))
                for day, state in zip(self.identified_on, self.states, strict=True)]

    def due(self, now: dt.datetime) -> int:
        """How many timers a tick at `now` must fire (Spiff fires an instant before now)."""
        return sum(1 for instant in self.timer_instants() if instant < now)


def scan_instant(today: dt.date) -> dt.datetime:
    """When W2's ticks run on the engine's clock: 12:00 UTC today, half a day from any timer
    (they fall at 00:00 UTC), so a run that crosses midnight cannot move the plan's count."""
    return dt.datetime.combine(today, dt.time(12), dt.UTC)


def make_plan(episodes: int, today: dt.date, seed: int = SEED) -> Plan:
    """`episodes` episodes identified over the last SCAN_DAYS days (seeded), a third waiting
    at each state."""
    rng = random.Random(seed)
    states = list(WAITING)
    return Plan([today - dt.timedelta(days=rng.randrange(SCAN_DAYS)) for _ in range(episodes)],
                [states[i % len(states)] for i in range(episodes)])


def stepped_to(store: Store, state: str, identified_on: dt.date) -> Any:
    """A workflow identified on that day and taken through W1's rounds until it waits at
    `state`, all on that day (the engine's clock at 09:00 UTC then): its timer is armed."""
    with spiff_clock(dt.datetime.combine(identified_on, dt.time(9), dt.UTC)):
        workflow = store.new_workflow(identified_on)
        for task_name, payload in ROUNDS:
            if task_name == state:
                break
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.data.update(payload)
            task.run()
            workflow.do_engine_steps()
    return workflow


def populate(store: Store, plan: Plan, batch: int = 10_000) -> None:
    """Insert the plan's rows (untimed): one serialization per (state, day), built by the
    engine, written to every episode that shares it."""
    templates: dict[tuple[str, dt.date], tuple[Any, ...]] = {}
    rows = []
    for day, state in zip(plan.identified_on, plan.states, strict=True):
        if (state, day) not in templates:
            templates[(state, day)] = store.row(stepped_to(store, state, day))
        rows.append(templates[(state, day)])
    columns = "workflow, next_timer_at" if store.indexed else "workflow"
    marks = "?, ?" if store.indexed else "?"
    for first in range(0, len(rows), batch):
        with transaction(store) as cur:
            cur.executemany(f"INSERT INTO episodes ({columns}) VALUES ({marks})",
                            rows[first:first + batch])


def tick_one(store: Store, episode_id: int) -> int:
    """One episode's tick, its own transaction: restore, refresh its timers, run the engine
    steps (the reminder script); written back only if a reminder was raised."""
    with transaction(store) as cur:
        workflow = store.read(cur, episode_id)
        before = len(reminders(workflow))
        workflow.refresh_timers()
        workflow.do_engine_steps()
        raised = len(reminders(workflow)) - before
        if raised:
            store.update(cur, episode_id, workflow)
        return raised


def tick(store: Store, now: dt.datetime) -> tuple[float, int]:
    """A scan at `now`: (seconds, reminders raised)."""
    start = time.perf_counter()
    with spiff_clock(now):
        raised = sum(tick_one(store, i) for i in store.candidates(now))
    return time.perf_counter() - start, raised


@dataclass
class W2Result:
    """One configuration's W2 figures."""

    tick1: float
    raised1: int
    tick2: float
    raised2: int
    expected: int
    episodes: int
    size: int
    peak_rss_kib: int
    rss_note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: clear_refs 5) so a phase's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_kib(reset: bool) -> tuple[int, str]:
    """Peak RSS since the reset (VmHWM), or the whole process's if it could not be reset."""
    if reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]), ""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, " (whole process)"


def run_w2(store: Store, plan: Plan, now: dt.datetime) -> W2Result:
    """Populate, then tick 1 and tick 2 at once after; checked against the plan."""
    reset = reset_peak_rss()
    populate(store, plan)
    expected = plan.due(now)
    tick1, raised1 = tick(store, now)
    tick2, raised2 = tick(store, now + dt.timedelta(seconds=tick1))
    if raised1 != expected or raised2 != 0:
        raise CheckFailed(f"{store.config}: tick 1 raised {raised1:,} (plan: {expected:,}), "
                          f"tick 2 raised {raised2:,} (must be 0)")
    rss, note = peak_rss_kib(reset)
    return W2Result(tick1, raised1, tick2, raised2, expected, len(plan.states),
                    store.size_bytes(), rss, note)


# --- Pathway, same run ---------------------------------------------------------------------
# Pathway's modules are imported only here, so the Spiff half (and its test) needs only
# bench.common of the project.


@dataclass
class PathwayW1:
    opens_per_s: float
    steps_per_s: float
    step_latencies: list[float]
    bare_opens_per_s: float
    bare_steps_per_s: float


def pathway_w1(episodes: int, run: int) -> PathwayW1:
    """bench.transitions' own run (use cases, one transaction each) and the bare statements,
    each on a fresh migrated SQLite file."""
    from bench.bare_transitions import bare_rates
    from bench.common import fresh_database
    from bench.transitions import run_once

    database = fresh_database("sqlite", "peer_pathway", None)
    try:
        result = run_once(database, episodes, prefix=f"P{run}-")
    finally:
        database.drop()
    yardstick = fresh_database("sqlite", "peer_bare", None)
    try:
        assert yardstick.path is not None
        bare_opens, bare_steps = bare_rates(yardstick.path, episodes, prefix=f"B{run}-")
    finally:
        yardstick.drop()
    latencies = [v for values in result.step_latencies.values() for v in values]
    return PathwayW1(result.opens_per_s, result.steps_per_s, latencies, bare_opens, bare_steps)


def pathway_w2(episodes: int, due: int) -> W2Result:
    """The scheduler's scan (batch 5,000, the SQLite default) over `due` milestones made due
    in a database of `episodes` episodes, then again at once: bench.scan's functions."""
    import sys

    from bench import bulk
    from bench.scan import mark_due, runtime_for, timed_scan

    database = bulk.template_database("sqlite", "peer_scan", None)
    try:
        runtime = runtime_for(database.url)
        bulk.grow(runtime.engine, episodes, log=lambda line: print(line, file=sys.stderr))
        mark_due(runtime.engine, 1, due)
        bulk.analyze(runtime.engine)
        reset = reset_peak_rss()
        tick1, raised1 = timed_scan(runtime, "scheduler, batch 5,000", 0)
        tick2, raised2 = timed_scan(runtime, "scheduler, batch 5,000", 0)
        rss, note = peak_rss_kib(reset)
        grown = bulk.count(runtime.engine, "episodes")
        runtime.engine.dispose()
        if raised1 != due or raised2 != 0:
            raise CheckFailed(f"pathway: tick 1 raised {raised1:,} of {due:,}, tick 2 {raised2:,}")
        return W2Result(tick1, raised1, tick2, raised2, due, grown, database.size_bytes(), rss,
                        note)
    finally:
        database.drop()


# --- report --------------------------------------------------------------------------------


def _runs(values: list[float]) -> str:
    return "" if len(values) < 2 else "   runs: " + ", ".join(f"{v:,.0f}" for v in values)


def report_w1(spiff: dict[str, list[W1Result]], pathway: list[PathwayW1], episodes: int,
              expected_timer: str) -> None:
    print("W1 transitions (one transaction per create and per step), medians over runs")
    for config, results in spiff.items():
        steps = [r.steps_per_s for r in results]
        lat = results[-1].latencies
        print(f"  spiff {config:<6} creates/s {median([r.creates_per_s for r in results]):>7,.0f}"
              f"   steps/s {median(steps):>7,.0f}   step p50 {ms(percentile(lat, 50))} ms, "
              f"p99 {ms(percentile(lat, 99))} ms   "
              f"storage {median([r.bytes_per_episode for r in results]):,.0f} bytes/episode"
              f"{_runs(steps)}")
        per_task = ", ".join(f"{name} {ms(percentile(v, 50))}/{ms(percentile(v, 99))}"
                             for name, v in results[-1].step_latencies.items())
        print(f"    p50/p99 ms by task: {per_task}")
    if spiff:
        print(f"    check ({', '.join(spiff)}): all {episodes:,} episodes wait at "
              f"augmentation_review with their day-104 timer ({expected_timer}); no reminder")
    if not pathway:
        return
    lat = pathway[-1].step_latencies
    steps = [p.steps_per_s for p in pathway]
    print(f"  pathway      opens/s   {median([p.opens_per_s for p in pathway]):>7,.0f}   "
          f"steps/s {median(steps):>7,.0f}   step p50 {ms(percentile(lat, 50))} ms, "
          f"p99 {ms(percentile(lat, 99))} ms   (bench.transitions.run_once){_runs(steps)}")
    print(f"  bare statements opens/s {median([p.bare_opens_per_s for p in pathway]):>5,.0f}   "
          f"steps/s {median([p.bare_steps_per_s for p in pathway]):>7,.0f}   "
          f"(bench.bare_transitions.bare_rates)")
    report_ratios(spiff.get("best", []), pathway)


def _verdict(value: float, target: float) -> str:
    return "met" if value >= target else "NOT met"


def report_ratios(best: list[W1Result], pathway: list[PathwayW1]) -> None:
    """Issue 13's targets, as ratios of figures from this run."""
    opens = median([p.opens_per_s for p in pathway])
    steps = median([p.steps_per_s for p in pathway])
    print("  ratios (same run):")
    if best:
        spiff_steps = median([r.steps_per_s for r in best])
        spiff_creates = median([r.creates_per_s for r in best])
        print(f"    pathway steps/s / spiff best steps/s     {steps / spiff_steps:5.2f}x  "
              f"(target >= 3x: {_verdict(steps / spiff_steps, 3)})")
        print(f"    pathway opens/s / spiff best creates/s   {opens / spiff_creates:5.2f}x  "
              f"(target >= 1.5x: {_verdict(opens / spiff_creates, 1.5)})")
    bare_opens = median([p.bare_opens_per_s for p in pathway])
    bare_steps = median([p.bare_steps_per_s for p in pathway])
    print(f"    pathway / bare statements                opens {opens / bare_opens:.0%}, "
          f"steps {steps / bare_steps:.0%}  (target >= 50 %: opens "
          f"{_verdict(opens / bare_opens, 0.5)}, steps {_verdict(steps / bare_steps, 0.5)})")


def seconds(value: float) -> str:
    """A duration in ms below a second, else in s."""
    return f"{ms(value)} ms" if value < 1 else f"{value:,.2f} s"


def report_w2(results: dict[str, W2Result]) -> None:
    print("W2 overdue scan (tick 1 raises what is due; tick 2, at once after, nothing)")
    for name, r in results.items():
        against = "milestones made due" if name == "pathway" else "plan"
        print(f"  {name:<12} tick 1 {seconds(r.tick1):>9} raising {r.raised1:,} "
              f"({against}: {r.expected:,}; {r.raised1 / r.tick1:,.0f}/s)   tick 2 "
              f"{seconds(r.tick2)} raising {r.raised2}   database {r.size / 1e6:,.1f} MB "
              f"({r.size / r.episodes:,.0f} bytes/episode at {r.episodes:,})   peak RSS "
              f"{r.peak_rss_kib / 1024:,.1f} MiB{r.rss_note}")
    if "spiff best" in results and "pathway" in results:
        ratio = results["spiff best"].tick1 / results["pathway"].tick1
        print(f"  ratio (same run): spiff best tick 1 / pathway tick 1 = {ratio:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.set_defaults(runs=1)
    parser.add_argument("--episodes", type=int, default=10_000, help="W1 episodes")
    parser.add_argument("--scan-episodes", type=int, default=100_000, help="W2 episodes")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="Spiff configurations: stock, best")
    parser.add_argument("--no-pathway", action="store_true",
                        help="measure the peer only (no Pathway figures, no ratios)")
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.scan_episodes, args.runs = 500, 5_000, 1
    configs = [c for c in args.configs.split(",") if c]
    print(machine_line())
    print(f"peer: SpiffWorkflow {version('SpiffWorkflow')}, configurations {', '.join(configs)}; "
          f"W1 {args.episodes:,} episodes x {len(ROUNDS)} steps, {args.runs} run(s); "
          f"W2 {args.scan_episodes:,} episodes, once per configuration")
    chosen = backends(args)
    if "postgresql" in chosen:
        print("note: the peer's contract is SQLite only; postgresql skipped")
    if "sqlite" not in chosen:
        return 0
    print("[sqlite]")
    spec = parse_spec()
    today = dt.datetime.now(dt.UTC).date()
    spiff: dict[str, list[W1Result]] = {c: [] for c in configs}
    pathway: list[PathwayW1] = []
    for run in range(args.runs):
        for config in configs:
            store = Store.create(config, spec)
            try:
                spiff[config].append(run_w1(store, args.episodes, today))
            finally:
                store.drop()
        if not args.no_pathway:
            pathway.append(pathway_w1(args.episodes, run))
    report_w1(spiff, pathway, args.episodes,
              timer_at(today.isoformat(), WAITING["augmentation_review"][1]))
    now = scan_instant(today)
    plan = make_plan(args.scan_episodes, today)
    w2: dict[str, W2Result] = {}
    for config in configs:
        store = Store.create(config, spec)
        try:
            w2[f"spiff {config}"] = run_w2(store, plan, now)
        finally:
            store.drop()
    if not args.no_pathway:
        w2["pathway"] = pathway_w2(args.scan_episodes, plan.due(now))
    report_w2(w2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
