"""The yardstick of workload 2 on SQLite: the statements an open and a step send, written by
hand on Python's `sqlite3` cursor, one transaction each (BEGIN IMMEDIATE ... COMMIT), on the
same migrated schema (its indexes and the event log's triggers), with WAL and
synchronous=NORMAL. No SQLAlchemy, no validation, no state machine, no milestone rules: what
the database and the driver alone cost for the work, so the pathway figures can be read
against it.

An open: look up the patient by MRN and the newest pathway version; insert the patient, the
episode, its opening event and four milestones; look for webhook subscriptions. A step (the
`start_conservative_care` shape, the most common): read the episode; claim its next version;
append the event; look for subscriptions; read its milestones; close one; look for its open
reminders; open the next milestone; update the episode's next-overdue columns.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from pathway.store.models import EPOCH_ORDINAL, to_epoch_micros

#: 2026-03-02 09:00 UTC and that day, as the product stores them on SQLite (`pathway.store.models`).
TS = to_epoch_micros(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
DAY = dt.date(2026, 3, 2).toordinal() - EPOCH_ORDINAL
INTAKE = json.dumps({"levels": ["L1"], "identified_on": "2026-03-02", "cause": "osteoporotic",
                     "neuro_exam": "intact", "red_flags": [], "pain_score": 5,
                     "coordinator": "coordinator1"})
KINDS = ("plan_decision", "osteoporosis_assessment", "osteoporosis_therapy",
         "liaison_monitoring")


def connect(path: Path) -> sqlite3.Connection:
    """A connection set up as `pathway.store.db` sets up its own."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=10000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def open_one(conn: sqlite3.Connection, mrn: str) -> int:
    """One open, its own transaction; the new episode's id."""
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    cur.execute("SELECT max(version) FROM pathway_versions")
    cur.execute("SELECT id FROM patients WHERE mrn = ?", (mrn,))
    cur.execute("INSERT INTO patients (mrn, created_at) VALUES (?, ?) RETURNING id", (mrn, TS))
    patient = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO episodes (patient_id, state, pathway_version, version, identified_on, "
        "coordinator, levels, intake, neuro_intact, instability, cord_compression, "
        "red_flags_open, next_overdue_at, next_milestone, opened_at, updated_at) "
        "VALUES (?, 'assessed', 1, 1, ?, 'coordinator1', '[\"L1\"]', ?, 1, 0, 0, 0, ?, "
        "'plan_decision', ?, ?) RETURNING id", (patient, DAY, INTAKE, TS, TS, TS))
    episode = cur.fetchone()[0]
    cur.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, actor, "
                "target_state, data) VALUES (?, 1, 'opened', ?, ?, 'bench', 'assessed', '{}') "
                "RETURNING id", (episode, DAY, TS))
    cur.fetchone()
    for kind in KINDS:
        cur.execute("INSERT INTO milestones (episode_id, kind, status, anchor_on, due_on, "
                    "overdue_on, due_at, overdue_at, next_alert_at, next_alert_kind, "
                    "created_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (episode, kind, DAY, DAY, DAY, TS, TS, TS, f"{kind}_overdue", TS))
        cur.fetchone()
    cur.execute("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active = 1)")
    cur.fetchone()
    cur.execute("COMMIT")
    return int(episode)


def step_one(conn: sqlite3.Connection, episode: int) -> None:
    """One step, its own transaction."""
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    cur.execute("SELECT * FROM episodes WHERE id = ?", (episode,))
    version = cur.fetchone()[4]
    cur.execute("UPDATE episodes SET state = 'conservative_care', version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?", (version + 1, TS, episode, version))
    cur.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, actor, "
                "source_state, target_state, data) VALUES (?, ?, 'start_conservative_care', "
                "?, ?, 'bench', 'assessed', 'conservative_care', '{}') RETURNING id",
                (episode, version + 1, DAY, TS))
    cur.fetchone()
    cur.execute("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active = 1)")
    cur.fetchone()
    cur.execute("SELECT * FROM milestones WHERE episode_id = ? ORDER BY id", (episode,))
    first = cur.fetchall()[0][0]
    cur.execute("UPDATE milestones SET status = 'met', next_alert_at = NULL, "
                "next_alert_kind = NULL, met_on = ?, closed_at = ? WHERE id = ?",
                (DAY, TS, first))
    cur.execute("SELECT * FROM reminders WHERE episode_id = ? AND milestone_id = ? AND "
                "(status = 'open' OR status = 'snoozed' OR status = 'acknowledged')",
                (episode, first))
    cur.fetchall()
    cur.execute("INSERT INTO milestones (episode_id, kind, status, anchor_on, due_on, "
                "overdue_on, due_at, overdue_at, next_alert_at, next_alert_kind, created_at) "
                "VALUES (?, 'reassessment', 'open', ?, ?, ?, ?, ?, ?, 'reassessment_due', ?) "
                "RETURNING id", (episode, DAY, DAY, DAY, TS, TS, TS, TS))
    cur.fetchone()
    cur.execute("UPDATE episodes SET next_overdue_at = ?, next_milestone = 'reassessment' "
                "WHERE id = ?", (TS, episode))
    cur.execute("COMMIT")


def timed_rates(open_one: Callable[[str], int], step_one: Callable[[int], None],
                episodes: int, prefix: str) -> tuple[float, float]:
    """(opens/s, steps/s) of `episodes` opens, then one step of each."""
    start = time.perf_counter()
    ids = [open_one(f"{prefix}{i:08d}") for i in range(episodes)]
    opens = episodes / (time.perf_counter() - start)
    start = time.perf_counter()
    for episode in ids:
        step_one(episode)
    return opens, episodes / (time.perf_counter() - start)


def bare_rates(path: Path, episodes: int, prefix: str) -> tuple[float, float]:
    """(opens/s, steps/s) of the hand-written statements over `episodes` new episodes."""
    conn = connect(path)
    try:
        return timed_rates(lambda mrn: open_one(conn, mrn),
                           lambda episode: step_one(conn, episode), episodes, prefix)
    finally:
        conn.close()
